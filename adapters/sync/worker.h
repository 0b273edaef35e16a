/*
 * worker.h — `onecount worker`: the shared sync worker.
 *
 * One event loop serves every brand's connections.  It wakes on
 * LISTEN/NOTIFY (oc_dirty: a listing's desired quantity changed; oc_events:
 * a webhook arrived or a routine should run now; oc_conn: a connection was
 * edited) and on a periodic scan that also catches retries whose backoff
 * ended and anything a lost notification missed.
 *
 *  - push: per brand in turn, claim out-of-sync listings (push_claim, FOR
 *    UPDATE SKIP LOCKED under a lease), group them per connection, split by
 *    the adapter's batch size, push, record what each channel answered
 *    (push_record) and the connection's health; a connection that keeps
 *    failing opens its circuit (alert) and is skipped until it half-opens.
 *  - events: stored webhooks turn into order/return polls or read-backs
 *    (events_process).
 *  - routines: the table of scheduled routines (poll orders and returns with
 *    cursors, read back and heal drift, full re-push, velocity), each
 *    claimed under a lease.
 *
 * Fairness: brands queue round robin for each kind of work, a claim takes
 * at most `worker_claim_limit` listings of one brand, and a connection
 * already pushing is skipped by the next claim, so one brand's large
 * re-push never holds another brand's sale behind it.  Several workers may
 * run at once: they coordinate only through the leases.
 */
#ifndef OC_SYNC_WORKER_H
#define OC_SYNC_WORKER_H

int oc_worker_main(void);

#endif
