/*
 * outcome.c — domain failures (see outcome.h).
 */
#include "tenants/outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int oc_fail(oc_fail_t *f, oc_fail_kind_t kind, const char *code, const char *field, const char *fmt, ...)
{
    json_decref(f->detail);
    *f = (oc_fail_t){.kind = kind, .code = code, .field = field};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    return -1;
}

int oc_fail_unavailable(oc_fail_t *f, const char *what)
{
    return oc_fail(f, OC_FAIL_UNAVAILABLE, "unavailable", NULL, "%s is unavailable; retry shortly", what);
}

int oc_fail_db(oc_fail_t *f, const oc_db_result_t *res)
{
    json_decref(f->detail);
    *f = (oc_fail_t){.kind = OC_FAIL_DB, .db = res};
    snprintf(f->message, sizeof(f->message), "%s", res != NULL && res->err != NULL ? res->err : "database error");
    return -1;
}

const PGresult *oc_fail_one_row(oc_fail_t *f, const oc_db_result_t *res, const char *what)
{
    if (res->err != NULL) {
        oc_fail_db(f, res);
        return NULL;
    }
    const PGresult *r = res->nresults > 0 ? res->results[res->nresults - 1] : NULL;
    if (r == NULL || PQntuples(r) != 1) {
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such %s", what);
        return NULL;
    }
    return r;
}

void oc_fail_clear(oc_fail_t *f)
{
    json_decref(f->detail);
    *f = (oc_fail_t){0};
}
