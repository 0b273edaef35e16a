/*
 * chttp.h — an asynchronous HTTP client on an oc_loop_t (libcurl multi).
 *
 * One client per loop (thread).  libcurl's multi interface is driven by the
 * loop itself: curl's sockets are watched through h2o sockets created over
 * dup()'d descriptors (readiness only, H2O_SOCKET_FLAG_DONT_READ) and curl's
 * timeout is an oc_timer_t, so nothing here ever blocks the loop.  The multi
 * handle keeps a connection cache: consecutive requests to one host reuse a
 * kept-alive connection.
 *
 * Requests are copied (URL, headers, body) when submitted.  Every accepted
 * request calls back exactly once, on the loop thread: with a response of
 * any status, with a transport error, or with res->cancelled set when the
 * client is destroyed first.  oc_chttp_cancel() is the one exception: it
 * drops requests without calling back.  Nothing here logs headers, bodies or
 * query strings (they carry tokens and presigned signatures).
 */
#ifndef OC_CHTTP_H
#define OC_CHTTP_H

#include "runtime/loop.h"

typedef struct oc_chttp oc_chttp_t;

typedef struct oc_chttp_header {
    const char *name;
    const char *value;
} oc_chttp_header_t;

typedef struct oc_chttp_req {
    const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *url;    /* http:// or https:// only */
    const oc_chttp_header_t *headers;
    size_t nheaders;
    const char *body; /* NULL = no body */
    size_t body_len;
    uint32_t timeout_ms;         /* the whole exchange; 0 = 30 s */
    uint32_t connect_timeout_ms; /* 0 = min(timeout, 10 s) */
} oc_chttp_req_t;

typedef struct oc_chttp_res {
    const char *err; /* NULL when a response arrived (of any status); else why not */
    int cancelled;   /* the client was destroyed before the response */
    int timed_out;   /* err is a timeout */
    int status;      /* 0 without a response */
    const oc_chttp_header_t *headers;
    size_t nheaders;
    const char *body; /* NUL-terminated; "" when empty */
    size_t body_len;
    uint64_t elapsed_ms;
} oc_chttp_res_t;

/** Called once per request; `res` and everything it points to is valid only during the call. */
typedef void (*oc_chttp_cb)(void *arg, const oc_chttp_res_t *res);

/** Creates a client on `loop`; NULL when libcurl fails. */
oc_chttp_t *oc_chttp_create(oc_loop_t *loop);
/**
 * Aborts every pending request (each callback runs with res->cancelled set
 * and may not submit new requests) and frees the client; accepts NULL.  Must
 * not be called from inside one of the client's callbacks.
 */
void oc_chttp_destroy(oc_chttp_t *c);
oc_loop_t *oc_chttp_loop(oc_chttp_t *c);

/**
 * Submits a request.  Returns 0 (the callback will run later, never from
 * inside this call) or OC_EINVAL / OC_ENOMEM / OC_EUNAVAIL (client closing),
 * in which case the callback is never called.
 */
int oc_chttp_request(oc_chttp_t *c, const oc_chttp_req_t *req, oc_chttp_cb cb, void *arg);

/** Drops every pending request submitted with `arg`, without calling back. */
void oc_chttp_cancel(oc_chttp_t *c, void *arg);

/** Requests in flight. */
size_t oc_chttp_pending(oc_chttp_t *c);

/** The value of response header `name` (case-insensitive; the last one wins), or NULL. */
const char *oc_chttp_header(const oc_chttp_res_t *res, const char *name);

#endif
