/*
 * redis.h — an asynchronous Redis client on one event loop.
 *
 * hiredis's async context is driven by an h2o socket over a dup() of its fd
 * (hiredis 0.14 ships no h2o adapter).  Every command gets a deadline: when
 * the oldest pending command is overdue, the connection is dropped, every
 * pending callback completes with an error, and the client reconnects with
 * backoff.  While disconnected, commands fail at once with OC_EUNAVAIL and
 * their callbacks are never called.
 *
 * Redis is an accelerator in onecount: callers must have a PostgreSQL path
 * for every answer Redis gives.
 */
#ifndef OC_REDIS_H
#define OC_REDIS_H

#include <hiredis/hiredis.h>

#include "runtime/loop.h"

typedef struct oc_redis oc_redis_t;

/**
 * Completion callback.  `err` is NULL on success; on a transport failure
 * (timeout, lost connection) it describes it and `reply` is NULL; on an
 * error reply it is the server's message and `reply` is that reply.
 * `reply` is borrowed for the duration of the call.
 */
typedef void (*oc_redis_cb)(void *arg, const char *err, redisReply *reply);

/** A Lua script run with EVALSHA, reloaded transparently on NOSCRIPT. */
typedef struct oc_redis_script {
    const char *source;
    char sha1[41]; /* filled by oc_redis_script_init() */
} oc_redis_script_t;

/** Computes the script's SHA1 (once, before use). */
void oc_redis_script_init(oc_redis_script_t *s);

/** Parses redis://host:port[/db] or unix:/path[?db=N]; returns NULL on a bad URL. */
oc_redis_t *oc_redis_create(oc_loop_t *loop, const char *url, int timeout_ms);
/** Disconnects; pending callbacks complete with an error.  Accepts NULL. */
void oc_redis_destroy(oc_redis_t *r);
/** Returns 1 while connected. */
int oc_redis_ready(const oc_redis_t *r);

/** Sends a command built from argv; returns 0, or OC_EUNAVAIL without calling cb. */
int oc_redis_commandv(oc_redis_t *r, oc_redis_cb cb, void *arg, int argc, const char **argv, const size_t *lens);
/** Runs `script` with `nkeys` keys followed by the other arguments (argv excludes the script); returns as
 * oc_redis_commandv. */
int oc_redis_eval(oc_redis_t *r, oc_redis_script_t *script, oc_redis_cb cb, void *arg, int nkeys, int argc,
                  const char **argv, const size_t *lens);

/** Registers the Redis metrics (process-wide; call once). */
void oc_redis_metrics_init(void);

#endif
