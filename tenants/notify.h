/*
 * notify.h — notifications (migration 0034): a portfolio's outbound webhook
 * endpoints, each person's notification preferences, e-mail queued from the
 * API (invitations), and the delivery side the sync worker runs (claim,
 * finish, digests).
 *
 * What becomes a notification is notify_event() in SQL, called in the
 * transaction of whatever opened or resolved (today: every alert that opens);
 * it fills the outbox this module's worker operations deliver.
 *
 * Refusals: brand ids outside the portfolio or an unknown time zone are
 * OC_FAIL_INVALID with every problem in the detail ({"problems": [...]}); an
 * endpoint of another portfolio, or none, OC_FAIL_NOT_FOUND.  A new or rotated
 * endpoint answers its signing "secret" — the only time it is ever answered:
 * it is stored sealed by the vault (vault.h) and opened only by the worker.
 */
#ifndef OC_NOTIFY_H
#define OC_NOTIFY_H

#include "tenants/audit.h"
#include "tenants/query.h"

/** 1 when an SMTP relay is configured (smtp_url): e-mail is sent; else preferences are kept but nothing is mailed. */
int oc_notify_email_enabled(void);

/** The portfolio's endpoints, oldest first (never their secret). */
void oc_notify_endpoints(oc_thread_t *th, const char *portfolio, oc_query_cb cb, void *arg);
/** One endpoint. */
void oc_notify_endpoint_get(oc_thread_t *th, const char *portfolio, const char *id, oc_query_cb cb, void *arg);
/** Creates an endpoint from `in` (name, url, kinds, brand_ids, active); answers it with its "secret". */
void oc_notify_endpoint_create(oc_thread_t *th, const oc_actor_t *a, const json_t *in, oc_query_cb cb, void *arg);
/** Changes the members `in` has. */
void oc_notify_endpoint_update(oc_thread_t *th, const oc_actor_t *a, const char *id, const json_t *in, oc_query_cb cb,
                               void *arg);
/** A new signing secret (the old one stops at once); answers the endpoint with its "secret". */
void oc_notify_endpoint_rotate(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg);
/** Deletes the endpoint and its delivery log. */
void oc_notify_endpoint_delete(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg);
/** Queues a 'test' delivery to the endpoint (active or not); answers the delivery. */
void oc_notify_endpoint_test(oc_thread_t *th, const oc_actor_t *a, const char *id, oc_query_cb cb, void *arg);
/** The endpoint's deliveries, newest first, each with its attempts (a page; keys created_at, id). */
void oc_notify_deliveries(oc_thread_t *th, const char *portfolio, const char *id, const oc_page_keys_t *pg,
                          oc_query_cb cb, void *arg);

/** The person's preferences (defaults when never saved), with whether e-mail is configured. */
void oc_notify_prefs_get(oc_thread_t *th, const char *portfolio, const char *user, oc_query_cb cb, void *arg);
/** Saves the members `in` has (email_mode, kinds, brand_ids, digest_hour, timezone). */
void oc_notify_prefs_put(oc_thread_t *th, const char *portfolio, const char *user, const json_t *in, oc_query_cb cb,
                         void *arg);

/**
 * Appends to `tx` a step queuing an e-mail whose text carries a secret (the
 * link of invitation `invitation`, queued only if the transaction made it): the text is sealed by the vault, opened
 * only to send it, and discarded once delivered; in a->portfolio, the parameters copied into a->pool (the other strings
 * must outlive tx).  Returns 0, OC_EUNAVAIL when e-mail is off or the vault has no key (nothing appended), or OC_EINVAL
 * (tx full).
 */
int oc_notify_email_sealed_step(oc_db_tx_t *tx, const oc_actor_t *a, const char *invitation, const char *rcpt,
                                const char *event, const char *subject, const char *text);

/* --- the worker's side (typed; see query.h) --- */

/** One claimed delivery; strings valid during the callback only. */
typedef struct oc_notify_item {
    const char *id, *channel, *url, *rcpt, *event, *subject, *body;
    int attempt;
    char *secret; /* the opened signing secret (webhook) or sealed text (e-mail), or NULL; wiped by the reader */
    size_t secret_len;
} oc_notify_item_t;

typedef void (*oc_notify_claim_cb)(void *arg, const oc_notify_item_t *items, int n, const oc_fail_t *f);
/** Claims up to `limit` due deliveries under a lease of `lease_s` for `owner`. */
int oc_notify_claim(oc_db_pool_t *db, const char *owner, int lease_s, int limit, oc_notify_claim_cb cb, void *arg);
/** Records one attempt: `ok` delivered, else retried after the backoff or failed after the last attempt. */
int oc_notify_finish(oc_db_pool_t *db, const char *id, const char *owner, int ok, int status, long long duration_ms,
                     const char *error, oc_query_done_cb cb, void *arg);
/** Queues the digests due now (at most `limit` people). */
int oc_notify_digests(oc_db_pool_t *db, int limit, oc_query_done_cb cb, void *arg);
/** Deletes up to `limit` deliveries that ended more than `keep_s` ago (at least a day), with their attempts. */
int oc_notify_prune(oc_db_pool_t *db, long long keep_s, int limit, oc_query_done_cb cb, void *arg);

#endif
