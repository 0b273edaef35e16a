/*
 * schema.c — the database's migrations against this build's (see schema.h).
 */
#include "runtime/schema.h"
#include "runtime/alloc.h"

#include <stdio.h>
#include <stdlib.h>

/* Applied: the latest version, and how many of the files' versions. */
OC_DB_STMT(schema_version, 1,
           "SELECT coalesce(max(version), 0), count(*) FILTER (WHERE version <= $1::int) FROM onecount_migrations");

typedef struct {
    int latest, count;
    oc_schema_cb cb;
    void *arg;
} check_t;

static void on_version(void *arg, const oc_db_result_t *res)
{
    check_t c = *(check_t *)arg;
    free(arg);
    if (res->err != NULL) {
        c.cb(c.arg, res, NULL);
        return;
    }
    oc_schema_version_t v = {.applied = oc_db_get_ll(res->results[0], 0, 0, 0)};
    long long count = oc_db_get_ll(res->results[0], 0, 1, 0);
    v.state = v.applied > c.latest ? "ahead" : count < c.count ? "pending" : "ok";
    c.cb(c.arg, NULL, &v);
}

int oc_schema_check(oc_db_pool_t *db, int latest, int count, oc_schema_cb cb, void *arg)
{
    check_t *c = oc_malloc(sizeof(*c));
    *c = (check_t){latest, count, cb, arg};
    char v[16];
    snprintf(v, sizeof(v), "%d", latest);
    const char *p[] = {v};
    int rc = oc_db_exec(db, NULL, &schema_version, p, on_version, c);
    if (rc != 0)
        free(c);
    return rc;
}
