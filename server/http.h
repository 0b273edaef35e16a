/*
 * http.h — the HTTP front door: threads, request context, responses.
 *
 * `serve` runs one h2o evloop per thread; every thread accepts on a dup() of
 * one listening socket and owns its own PostgreSQL pool and Redis client.
 * An API request becomes an oc_req_t that lives until its single response
 * is sent, even if the client has gone (then r->h2o is NULL and the response
 * is dropped, but the work it triggered still completes and is logged).
 *
 * Handlers run on the loop thread, never block, and end every path with
 * exactly one oc_respond_*() call.
 */
#ifndef OC_HTTP_H
#define OC_HTTP_H

#include <h2o.h>
#include <jansson.h>

#include "runtime/db.h"
#include "runtime/json.h"
#include "runtime/listener.h"
#include "runtime/loop.h"
#include "runtime/redis.h"
#include "runtime/thread.h"
#include "runtime/workpool.h"
#include "tenants/audit.h"
#include "tenants/outcome.h"
#include "tenants/roles.h"

typedef struct oc_route oc_route_t;
typedef struct oc_req oc_req_t;

/** Who is calling, filled by authentication (zero-filled for public routes). */
typedef struct oc_principal {
    enum { OC_AUTH_NONE = 0, OC_AUTH_SESSION, OC_AUTH_TOKEN } kind;
    char user_id[37];         /* the user (for tokens: the creator) */
    char portfolio_id[37];    /* the user's portfolio */
    char credential_id[37];   /* session or token id */
    char scope_brand[37];     /* token scoped to one brand, else "" */
    oc_role_t portfolio_role; /* role over the whole portfolio (admin), else NONE */
    oc_role_t token_role;     /* tokens: the role granted to the token */
    char csrf[65];            /* sessions: the CSRF token bound to the session */
    oc_role_t role;           /* effective role for the brand or portfolio in the path */
    int nbrands;              /* sessions: the user's per-brand roles, in the request pool */
    oc_brand_role_t *brands;
} oc_principal_t;

#define OC_MAX_PATH_PARAMS 6

struct oc_req {
    h2o_req_t *h2o; /* NULL once the client has gone */
    oc_thread_t *thread;
    const oc_route_t *route;
    h2o_mem_pool_t pool; /* request-lifetime allocations, freed after the response */
    int nparams;
    struct {
        const char *name;
        char *value; /* percent-decoded, in pool */
    } params[OC_MAX_PATH_PARAMS];
    char request_id[65];
    uint64_t start_us;
    json_t *body;    /* parsed JSON body for JSON routes, else NULL */
    h2o_iovec_t raw; /* request body copied into pool */
    char *query;     /* raw query string (after '?') in pool, or NULL */
    oc_principal_t auth;
    struct {
        char key[65]; /* SHA-256 of the presented credential */
        int is_session;
        uint64_t sent_us; /* when the lookup that answered was sent (auth.c) */
        unsigned epoch;   /* and the cache epoch then */
    } authn;              /* authentication's own working state */
    char tenant[37];      /* brand in the path, once resolved (for logs and RLS) */
    char portfolio[37];
    char method[8];
    char *path;     /* in pool */
    char *idem_key; /* Idempotency-Key header, in pool, or NULL */
    int status;
    int validated; /* the JSON body passed oc_req_validate (every JSON route must call it) */
    struct {
        const char *name, *value;
    } headers[8];
    int nheaders;
    void *state; /* the handler's own state (middleware never uses it); freed by state_free */
    void (*state_free)(void *);
    struct req_guard *guard;
    int remote_is_tls;
    char remote_addr[48];
    oc_actor_t actor; /* filled by oc_req_actor() */
};

/** The request as the domain's actor (audit, who changed what): valid until the response. */
const oc_actor_t *oc_req_actor(oc_req_t *r);

/**
 * The thread's HTTP client for calls to channels (created on first use;
 * NULL if libcurl cannot start).  Its requests end with the thread.
 */
struct oc_chttp *oc_thread_chttp(oc_thread_t *th);

/* --- responses: every handler path ends with exactly one of these --- */

/** Sends `body` (stolen; may be NULL for no body) as JSON with `status`. */
void oc_respond_json(oc_req_t *r, int status, json_t *body);
/**
 * Sends {"error":{"code","message","field","request_id"}} with `status`;
 * `field` may be NULL.  `message` is shown to the user: lower-case, no
 * trailing period.  (oc_respond_json adds the request id to any error body
 * that lacks it, whoever built the body: the ledger, a stored answer.)
 */
void oc_respond_error(oc_req_t *r, int status, const char *code, const char *message, const char *field);
/** Sends raw bytes with a content type. */
void oc_respond_raw(oc_req_t *r, int status, const char *content_type, const char *data, size_t len);
/** Adds a response header (both strings copied into the request pool). */
void oc_resp_header(oc_req_t *r, const char *name, const char *value);

/** 503 with Retry-After for a dependency failure code (OC_EUNAVAIL, OC_EBUSY, OC_ETIMEDOUT...). */
void oc_respond_unavailable(oc_req_t *r, const char *what);
/** Maps a failed database result onto the right response (409 conflicts, 503 outages, 500 otherwise). */
void oc_respond_db_error(oc_req_t *r, const oc_db_result_t *res);

/**
 * Answers a domain failure (tenants/outcome.h): INVALID 422, NOT_FOUND 404,
 * CONFLICT 409, FORBIDDEN 403, UNAVAILABLE 503 (with retry-after), INTERNAL
 * 500, DB as oc_respond_db_error; the body is the one error shape with the
 * failure's code, message, field and detail members.
 */
void oc_respond_fail(oc_req_t *r, const oc_fail_t *f);

/**
 * Validates the JSON body against `fields` (oc_no_fields for a route that
 * takes none); on a problem responds 422 naming the field and returns -1
 * (the request is then finished).  Every JSON route calls it before anything
 * else reads the body: a route that answers 2xx without having done so is
 * logged as an error (the contract test fails on it).
 */
int oc_req_validate(oc_req_t *r, const oc_field_t *fields);

/* --- request accessors --- */

/** Path parameter by name ("bid"), or NULL. */
const char *oc_req_param(const oc_req_t *r, const char *name);
/**
 * Path parameter `name` that must be a UUID; anything else answers 404
 * `not_found_message` — exactly what a well-formed id of nothing answers —
 * and returns NULL (the request is then finished).
 */
const char *oc_req_id_param(oc_req_t *r, const char *name, const char *not_found_message);
/** Same for a numbered row (an incident, an alert, an exception): 1 to 18 digits, not 0. */
const char *oc_req_num_param(oc_req_t *r, const char *name, const char *not_found_message);
/** Query parameter by name, percent-decoded into the pool, or NULL when absent. */
const char *oc_req_query(oc_req_t *r, const char *name);
/** Request header (lower-case name), copied into the pool, or NULL. */
const char *oc_req_header(oc_req_t *r, const char *name);
/**
 * SHA-256 (hex) of method, path, query string and body: what an
 * Idempotency-Key is bound to.  Reads only the request, so a work-pool
 * thread may compute it for a large body while the request waits.
 */
void oc_api_request_hash(oc_req_t *r, char out[65]);
/** Allocates from the request pool (lives until the response is sent). */
void *oc_req_alloc(oc_req_t *r, size_t n);
char *oc_req_strdup(oc_req_t *r, const char *s, size_t len);
/** Runs fn(p) when the request is freed (after its response): for json_t, PGresult and the like. */
void oc_req_dispose_later(oc_req_t *r, void (*fn)(void *), void *p);

/* --- the server --- */

/** Runs `serve` until SIGTERM/SIGINT; returns the process exit code. */
int oc_serve_main(void);

/** The threads of the running server (for readiness and stats). */
extern oc_thread_t **oc_server_threads;
extern int oc_server_nthreads;
extern oc_workpool_t *oc_server_workpool;

#endif
