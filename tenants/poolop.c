/*
 * poolop.c — domain operations on a pool (see poolop.h).
 */
#include "tenants/poolop.h"
#include "runtime/alloc.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    oc_poolop_read read;
    void (*done)(void);
    void *arg;
} call_t;

static void on_result(void *arg, const oc_db_result_t *res)
{
    call_t c = *(call_t *)arg;
    free(arg);
    if (res->err != NULL) {
        oc_fail_t f = {0};
        oc_fail_db(&f, res);
        c.read(res, &f, c.done, c.arg);
        oc_fail_clear(&f);
        return;
    }
    c.read(res, NULL, c.done, c.arg);
}

int oc_poolop_run(oc_db_pool_t *db, const oc_db_tx_t *tx, oc_poolop_read read, void (*done)(void), void *arg)
{
    if (done == NULL)
        return oc_db_run(db, tx, NULL, NULL);
    call_t *c = oc_malloc(sizeof(*c));
    *c = (call_t){read, done, arg};
    int rc = oc_db_run(db, tx, on_result, c);
    if (rc != 0)
        free(c);
    return rc;
}

int oc_poolop_exec(oc_db_pool_t *db, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                   oc_poolop_read read, void (*done)(void), void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant, .nsteps = 1};
    tx.steps[0].stmt = stmt;
    for (int i = 0; i < stmt->nparams && i < OC_DB_MAX_PARAMS; i++)
        tx.steps[0].params[i] = params[i];
    return oc_poolop_run(db, &tx, read, done, arg);
}

void oc_poolop_read_done(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    (void)res;
    ((oc_poolop_done_cb)done)(arg, f);
}

const char *oc_poolop_int(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}
