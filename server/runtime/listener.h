/*
 * listener.h — the listening socket and the client connections a loop
 * accepts from it, shared by `onecount serve` and `onecount sim`.
 *
 * h2o 2.2 has no graceful shutdown for HTTP/1 keep-alive connections, so
 * each loop tracks the connections it accepted and ends the idle ones
 * itself when it stops.
 */
#ifndef OC_LISTENER_H
#define OC_LISTENER_H

#include <h2o.h>

#include "runtime/loop.h"

/**
 * Opens the socket of `oc_config.listen` (SO_REUSEADDR, TCP_NODELAY), logs
 * "listening" with its URL (and `role` when not NULL), and writes the bound
 * port to `oc_config.port_file` when one is set.  Returns the descriptor
 * and the bound port in `*port`, or -1 after logging why.
 */
int oc_listener_open(const char *role, int *port);
/** The same for another address: `host` and `port` (0 = any free port), the port written to `port_file` (NULL or
 * "" = none).  The ops listener (opslisten.h) opens its own address with it. */
int oc_listener_open_at(const char *role, const char *host, int port, const char *port_file, int *bound);
/** Writes `port` to `path` (NULL or "" = nowhere) through a rename: a reader sees the whole number or no file. */
void oc_listener_write_port_file(const char *path, int port);

/** The connections one loop accepted, and where it hands them. */
typedef struct oc_conns {
    h2o_linklist_t list;
    h2o_accept_ctx_t *accept_ctx;
} oc_conns_t;

void oc_conns_init(oc_conns_t *conns, h2o_accept_ctx_t *accept_ctx);
/** Accepts from `listener` (a socket of the loop) into `conns` until the listener is closed. */
void oc_conns_accept(oc_conns_t *conns, h2o_socket_t *listener);
static inline int oc_conns_empty(oc_conns_t *conns)
{
    return h2o_linklist_is_empty(&conns->list);
}
/**
 * Ends the connections still open once nothing is in flight: lets
 * responses leave for 50 ms, shuts every connection's read side (h2o
 * handles that as the client closing), then runs the loop until they are
 * gone, at most one second.
 */
void oc_conns_close(oc_conns_t *conns, oc_loop_t *loop);

#endif
