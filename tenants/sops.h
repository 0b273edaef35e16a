/*
 * sops.h — the SOP: a versioned document per portfolio, each brand's
 * overrides of it, the schedule it makes and the checklist its human steps
 * open (migration 0027; the document's shape and rules are in its header).
 *
 * Every write makes a new version with who and why and re-makes the
 * schedule (the routines table the worker claims) of the brands it touches,
 * in the same transaction.  Refusals: an unsound document is
 * OC_FAIL_INVALID with every problem in the detail ({"problems": [{field,
 * message}]}, "field" the first); a write based on a version that is no
 * longer current, or completing a step someone completed, is
 * OC_FAIL_CONFLICT; an unknown version OC_FAIL_NOT_FOUND.
 *
 * Portfolio-wide reads take the brands the caller may see: `brands` a
 * comma-separated list of brand ids, or NULL for every brand of the
 * portfolio (a portfolio admin).
 */
#ifndef OC_SOPS_H
#define OC_SOPS_H

#include "tenants/audit.h"
#include "tenants/query.h"

/** How an operation that may save a version answers (the refusals above); for the routine's own edit. */
extern const oc_query_how_t oc_sops_how_save;

/** The portfolio's SOP (`brand` NULL): its current version; or a brand's: effective steps and its overrides. */
void oc_sops_get(oc_thread_t *th, const char *portfolio, const char *brand, oc_query_cb cb, void *arg);

/**
 * Saves `document` as the next version of the portfolio's SOP (a->tenant
 * NULL or "") or of the brand a->tenant's overrides, with `reason`; `base`
 * the version the writer read (NULL: no check).  Answers the new version
 * and, per brand, what its schedule gained, changed and retired.
 */
void oc_sops_save(oc_thread_t *th, const oc_actor_t *a, const json_t *document, const char *reason, const char *base,
                  oc_query_cb cb, void *arg);

/** Restores `version` as a new version (reason NULL: "restored version N"). */
void oc_sops_restore(oc_thread_t *th, const oc_actor_t *a, const char *version, const char *reason, oc_query_cb cb,
                     void *arg);

/** The versions, newest first, without their documents (a page; key: version). */
void oc_sops_versions(oc_thread_t *th, const char *portfolio, const char *brand, const oc_page_keys_t *pg,
                      oc_query_cb cb, void *arg);

/** One version with its document. */
void oc_sops_version(oc_thread_t *th, const char *portfolio, const char *brand, const char *version, oc_query_cb cb,
                     void *arg);

/** What changed between versions `from` and `to`, step by step. */
void oc_sops_diff(oc_thread_t *th, const char *portfolio, const char *brand, const char *from, const char *to,
                  oc_query_cb cb, void *arg);

/**
 * The runs due in the coming `hours` across `brands` (see above), soonest
 * first: at most `per_routine` of each routine (each with how many more fall
 * in the window), 2000 in all.
 */
void oc_sops_schedule(oc_thread_t *th, const char *portfolio, const char *brands, int hours, int per_routine,
                      oc_query_cb cb, void *arg);

/** A checklist filter: NULL members match everything. */
typedef struct oc_checklist_filter {
    const char *state;    /* open, done, skipped */
    const char *assignee; /* a user id */
    const char *brand;    /* one brand */
    int overdue;          /* 1: only open items past due */
} oc_checklist_filter_t;

/** Checklist items across `brands`, the soonest due first (a page; key: due_at, id). */
void oc_sops_checklist(oc_thread_t *th, const char *portfolio, const char *brands, const oc_checklist_filter_t *flt,
                       const oc_page_keys_t *pg, oc_query_cb cb, void *arg);

/** Completes item `id` of the brand a->tenant: `state` done or skipped, with `note` (may be NULL). */
void oc_sops_checklist_complete(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *state,
                                const char *note, oc_query_cb cb, void *arg);

/** Assigns item `id` to `user` (NULL: back to the step's role). */
void oc_sops_checklist_assign(oc_thread_t *th, const oc_actor_t *a, const char *id, const char *user, oc_query_cb cb,
                              void *arg);

/** Hands every step and open item of `from` over to `to` across the portfolio, in one transaction. */
void oc_sops_handover(oc_thread_t *th, const oc_actor_t *a, const char *from, const char *to, const char *reason,
                      oc_query_cb cb, void *arg);

/**
 * A template run on the brands `brand_ids` (a JSON array of ids) of the
 * actor's portfolio, all of them among `tenants` (as above): `kind` "sop"
 * (body {"document": overrides}) or "rules" (body {"connections": {kind:
 * rules}, "last_units": …}); previewed (`apply` 0: the same run, rolled
 * back) or applied, with `reason`.  Answers per brand what changes
 * (template_run, migration 0030).
 */
void oc_sops_template(oc_thread_t *th, const oc_actor_t *a, const char *tenants, const char *kind,
                      const json_t *brand_ids, const json_t *body, int apply, const char *reason, oc_query_cb cb,
                      void *arg);

#endif
