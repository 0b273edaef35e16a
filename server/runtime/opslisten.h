/*
 * opslisten.h — the operations listener: /healthz, /readyz and /metrics on
 * an address of their own (loopback by default), served from an event loop
 * the process already runs.
 *
 * The worker serves its health and metrics here; any process with an
 * oc_loop_t can do the same (serve, to keep /metrics off the API's address).
 * It is the runtime's own pieces, not another HTTP server: the socket from
 * oc_listener_open_at() (listener.h), the accepted connections tracked by
 * oc_conns_t, h2o on the loop's evloop.  GET and HEAD only, no request body.
 * The address is the first access control (keep it on loopback or a private
 * network); a `token`, when set, is the second: /metrics then asks for
 * `Authorization: Bearer <token>` (401 otherwise), compared in constant time.
 *
 *   /healthz  200 {"status":"ok"} while the loop turns (a stuck loop answers nothing)
 *   /readyz   200 {"status":"ready","checks":{…}} or 503 {"status":"not_ready",…}: the owner's
 *             `ready` callback fills the checks and decides (NULL: like /healthz)
 *   /metrics  oc_metrics_render(): every metric and collector registered in the process
 *
 * Anything else is 404, another method 405, in the one error shape.
 */
#ifndef OC_OPSLISTEN_H
#define OC_OPSLISTEN_H

#include <jansson.h>

#include "runtime/loop.h"

typedef struct oc_opslisten oc_opslisten_t;

/** Fills `checks` ({"name": "ok" | what is wrong, …}); returns 1 when ready. */
typedef int (*oc_ops_ready_fn)(void *arg, json_t *checks);

typedef struct oc_opslisten_opts {
    const char *role;      /* shown in the "listening" log line, e.g. "worker" */
    const char *listen;    /* host:port or [v6]:port; port 0 = any free port */
    const char *port_file; /* the bound port is written here (NULL or "" = nowhere) */
    oc_ops_ready_fn ready;
    void *arg;
    const char *token; /* NULL or "": /metrics is open to whoever reaches the address */
    int metrics_only;  /* serve only /metrics (a process whose health is answered elsewhere) */
} oc_opslisten_opts_t;

/** Binds and starts serving on `loop`; NULL (after logging why) when the address is bad or taken. */
oc_opslisten_t *oc_opslisten_start(oc_loop_t *loop, const oc_opslisten_opts_t *opts);
/** The port bound (the one chosen when port 0 was asked). */
int oc_opslisten_port(const oc_opslisten_t *o);
/** Stops accepting, ends the open connections (running `loop` a little) and frees; accepts NULL. */
void oc_opslisten_stop(oc_opslisten_t *o);

#endif
