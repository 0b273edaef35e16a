/*
 * exceptions.h — the exception queue and the dashboard built on it
 * (migration 0033 holds the conditions and the rules of an item's life).
 *
 * Items open and close themselves from the state they describe (the
 * worker's refresh: tenants/workjobs.h); people acknowledge, assign, snooze,
 * resolve and reopen them here.  Refusals: a transition the item's state
 * does not allow is OC_FAIL_CONFLICT; an owner who cannot see the brand or a
 * snooze outside the next 90 days OC_FAIL_INVALID with its problems
 * ({"problems": [{field, message}]}); an unknown item OC_FAIL_NOT_FOUND.
 *
 * Portfolio-wide reads take the brands the caller may see: `brands` a
 * comma-separated list of brand ids, or NULL for every brand of the
 * portfolio (a portfolio admin).
 */
#ifndef OC_EXCEPTIONS_H
#define OC_EXCEPTIONS_H

#include "tenants/audit.h"
#include "tenants/query.h"

/** The queue's filters (NULL = any); state is active, open, acknowledged, snoozed, resolved or all. */
typedef struct oc_exception_filter {
    const char *brand;
    const char *kind;
    const char *severity;
    const char *state;
    const char *owner; /* a user id, or the nil uuid for "nobody" */
    const char *connection;
} oc_exception_filter_t;

/**
 * One page of the queue, worst first then newest: answers {"items": [up to
 * limit + 1 items, each with "_key": its sort key], "counts": {"total",
 * "by_kind", "by_severity", "by_state", "by_brand"}}; each facet's counts
 * ignore that facet's own filter.  pg->after holds (rank, opened_at, id).
 */
void oc_exceptions_queue(oc_thread_t *th, const char *portfolio, const char *brands, const oc_exception_filter_t *flt,
                         const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** One item of brand `tenant` with its history. */
void oc_exceptions_get(oc_thread_t *th, const char *tenant, const char *id, oc_query_cb cb, void *arg);

/**
 * A person's action on item `id` of a->tenant: "acknowledge", "assign"
 * (`owner`, NULL to unassign), "snooze" (`until`, RFC 3339), "resolve",
 * "reopen", or "snooze_hours" (`until` a whole number of hours from now);
 * `note` optional.  Audited; answers the item with its history.
 */
void oc_exceptions_act(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *action, const char *owner,
                       const char *until, const char *note, oc_query_cb cb, void *arg);

/** Every brand's health at a glance, worst first, with totals. */
void oc_exceptions_dashboard(oc_thread_t *th, const char *portfolio, const char *brands, oc_query_cb cb, void *arg);

/** One brand's health with its first ten active items ("top"). */
void oc_exceptions_brand_dashboard(oc_thread_t *th, const char *tenant, oc_query_cb cb, void *arg);

#endif
