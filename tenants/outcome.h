/*
 * outcome.h — how a domain operation says it did not happen.
 *
 * The domain never speaks HTTP.  An operation that fails fills an oc_fail_t:
 * a kind (what sort of refusal), a machine code and a message a person can
 * act on, the input field it is about, and optional detail.  The HTTP layer
 * maps the kind to a status in one place (oc_respond_fail in server/http.h);
 * the worker logs it.  A database failure the domain does not interpret
 * itself travels as OC_FAIL_DB with the result, for the one mapping of
 * database errors the server has (idempotency replays included).
 */
#ifndef OC_OUTCOME_H
#define OC_OUTCOME_H

#include <jansson.h>

#include "runtime/common.h"
#include "runtime/db.h"

typedef enum {
    OC_FAIL_NONE = 0,
    OC_FAIL_INVALID,     /* the input breaks a rule of the domain (HTTP 422) */
    OC_FAIL_NOT_FOUND,   /* the object named does not exist for this tenant (404) */
    OC_FAIL_CONFLICT,    /* the object's state refuses it now (409) */
    OC_FAIL_FORBIDDEN,   /* the actor may not do this (403) */
    OC_FAIL_UNAVAILABLE, /* a dependency is down or busy: try again shortly (503) */
    OC_FAIL_DB,          /* a database result, mapped by the caller's layer (`db`) */
    OC_FAIL_INTERNAL,    /* a bug: an answer that cannot be built (500) */
} oc_fail_kind_t;

typedef struct oc_fail {
    oc_fail_kind_t kind;
    const char *code;         /* static, e.g. "unknown_sku"; NULL = a default per kind */
    const char *field;        /* static or owned by the caller for the callback; NULL = none */
    char message[256];        /* what went wrong, in words a user can act on */
    json_t *detail;           /* extra members for the error object (owned; oc_fail_clear frees), or NULL */
    const oc_db_result_t *db; /* OC_FAIL_DB: borrowed for the duration of the callback */
} oc_fail_t;

/** Fills `f` (printf-style message).  Returns -1, so a caller can `return oc_fail(...)`. */
int oc_fail(oc_fail_t *f, oc_fail_kind_t kind, const char *code, const char *field, const char *fmt, ...)
    OC_PRINTF(5, 6);

/** OC_FAIL_UNAVAILABLE, "<what> is unavailable; retry shortly" (what: "the database").  Returns -1. */
int oc_fail_unavailable(oc_fail_t *f, const char *what);

/** A database failure: OC_FAIL_DB with `res` (borrowed).  Returns -1. */
int oc_fail_db(oc_fail_t *f, const oc_db_result_t *res);

/**
 * The one row a lookup by id found: `res`'s last result when it holds exactly
 * one row.  Otherwise NULL, with `f` filled: OC_FAIL_DB on a database error,
 * OC_FAIL_NOT_FOUND ("no such <what>", code "not_found") when it found none.
 */
const PGresult *oc_fail_one_row(oc_fail_t *f, const oc_db_result_t *res, const char *what);

/** Frees what `f` owns and empties it.  Accepts an empty one. */
void oc_fail_clear(oc_fail_t *f);

#endif
