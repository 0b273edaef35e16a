/*
 * query.c — running a domain transaction and reading its answer (see query.h).
 */
#include "tenants/query.h"
#include "tenants/holds.h"
#include "runtime/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

OC_DB_STMT(idem_begin_stmt, 3, "SELECT idem_begin($1, $2, $3)");
OC_DB_STMT(set_request_id, 1, "SELECT set_config('app.request_id', $1, true)");

typedef struct {
    oc_query_how_t how;
    oc_redis_t *redis;
    char tenant[37];
    json_t *v;
    oc_query_cb cb;
    void *arg;
} pending_t;

json_t *oc_query_one(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    const PGresult *row = oc_fail_one_row(f, res, what);
    if (row == NULL)
        return NULL;
    json_t *v = oc_db_json(row, 0, 0);
    if (v == NULL)
        oc_fail(f, OC_FAIL_NOT_FOUND, "not_found", NULL, "no such %s", what);
    return v;
}

json_t *oc_query_rows(const oc_db_result_t *res, const char *what, oc_fail_t *f)
{
    (void)what;
    if (res->err != NULL) {
        oc_fail_db(f, res);
        return NULL;
    }
    return oc_db_json_rows(res->results[res->nresults - 1], 0);
}

void oc_query_unavailable(oc_query_cb cb, void *arg)
{
    oc_fail_t f = {0};
    oc_fail_unavailable(&f, "the database");
    cb(arg, NULL, &f);
    oc_fail_clear(&f);
}

static void answered(void *arg)
{
    pending_t *p = arg;
    p->cb(p->arg, p->v, NULL);
    free(p);
}

static void on_done(void *arg, const oc_db_result_t *res)
{
    pending_t *p = arg;
    const oc_query_how_t *how = &p->how;
    oc_fail_t f = {0};
    if (res->err != NULL && how->refuse != NULL && how->refuse(res, how->refuse_ctx, &f)) {
        p->cb(p->arg, NULL, &f);
        oc_fail_clear(&f);
        free(p);
        return;
    }
    oc_db_result_t upto = *res; /* the reader's step is the last one it looks at */
    if (how->step > 0 && how->step < res->nresults)
        upto.nresults = how->step;
    p->v = (how->read != NULL ? how->read : oc_query_one)(&upto, how->what, &f);
    if (p->v == NULL) {
        p->cb(p->arg, NULL, &f);
        oc_fail_clear(&f);
        free(p);
        return;
    }
    if (how->touches_stock)
        oc_holds_publish_touched(p->redis, p->tenant, res, answered, p);
    else
        answered(p);
}

void oc_query_answer(oc_thread_t *th, const oc_db_tx_t *tx, const oc_query_how_t *how, oc_query_cb cb, void *arg)
{
    pending_t *p = oc_calloc(1, sizeof(*p));
    *p = (pending_t){.how = *how, .redis = th->redis, .cb = cb, .arg = arg};
    if (tx->tenant != NULL)
        oc_strlcpy(p->tenant, tx->tenant, strlen(tx->tenant), sizeof(p->tenant));
    if (oc_db_run(th->db, tx, on_done, p) != 0) {
        free(p);
        oc_query_unavailable(cb, arg);
    }
}

void oc_query_run(oc_thread_t *th, const oc_db_tx_t *tx, oc_query_read read, const char *what, oc_query_cb cb,
                  void *arg)
{
    oc_query_answer(th, tx, &(oc_query_how_t){.read = read, .what = what}, cb, arg);
}

void oc_query_exec(oc_thread_t *th, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                   oc_query_read read, const char *what, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    oc_query_step(&tx, stmt, params, stmt->nparams);
    oc_query_run(th, &tx, read, what, cb, arg);
}

int oc_query_step(oc_db_tx_t *tx, const oc_db_stmt_t *stmt, const char *const *params, int n)
{
    if (tx->nsteps >= OC_DB_MAX_STEPS || n > OC_DB_MAX_PARAMS)
        return -1;
    int i = tx->nsteps++;
    tx->steps[i].stmt = stmt;
    if (n > 0)
        memcpy(tx->steps[i].params, params, sizeof(char *) * (size_t)n);
    return i;
}

int oc_query_page_step(oc_db_tx_t *tx, const oc_db_stmt_t *stmt, const char *const *head, int nhead,
                       const oc_page_keys_t *pg, int nkeys)
{
    const char *p[OC_DB_MAX_PARAMS];
    int n = 0;
    for (int i = 0; i < nhead && n < OC_DB_MAX_PARAMS; i++)
        p[n++] = head[i];
    for (int i = 0; i < nkeys && i < (int)OC_ARRAY_SIZE(pg->after) && n < OC_DB_MAX_PARAMS; i++)
        p[n++] = pg->after[i];
    if (n == OC_DB_MAX_PARAMS)
        return -1;
    p[n++] = pg->limit_plus_one;
    return oc_query_step(tx, stmt, p, n);
}

void oc_query_list(oc_thread_t *th, const char *tenant, const oc_db_stmt_t *stmt, const char *const *head, int nhead,
                   const oc_page_keys_t *pg, int nkeys, const char *what, oc_query_cb cb, void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    oc_query_page_step(&tx, stmt, head, nhead, pg, nkeys);
    oc_query_run(th, &tx, oc_query_rows, what, cb, arg);
}

int oc_query_idem_step(oc_db_tx_t *tx, const char *tenant, const oc_idem_t *idem)
{
    if (idem == NULL || idem->key == NULL)
        return 0;
    const char *p[] = {tenant, idem->key, idem->hash};
    return oc_query_step(tx, &idem_begin_stmt, p, 3) < 0 ? -1 : 0;
}

int oc_query_request_id_step(oc_db_tx_t *tx, const char *request_id)
{
    return oc_query_step(tx, &set_request_id, &request_id, 1) < 0 ? -1 : 0;
}

typedef struct {
    oc_query_typed_fn read;
    void (*done)(void);
    void *arg;
} typed_t;

static void on_typed(void *arg, const oc_db_result_t *res)
{
    typed_t t = *(typed_t *)arg;
    free(arg);
    if (res->err != NULL) {
        oc_fail_t f = {0};
        oc_fail_db(&f, res);
        t.read(res, &f, t.done, t.arg);
        oc_fail_clear(&f);
        return;
    }
    t.read(res, NULL, t.done, t.arg);
}

int oc_query_typed_run(oc_db_pool_t *db, const oc_db_tx_t *tx, oc_query_typed_fn read, void (*done)(void), void *arg)
{
    if (done == NULL)
        return oc_db_run(db, tx, NULL, NULL);
    typed_t *t = oc_malloc(sizeof(*t));
    *t = (typed_t){read, done, arg};
    int rc = oc_db_run(db, tx, on_typed, t);
    if (rc != 0)
        free(t);
    return rc;
}

int oc_query_typed_exec(oc_db_pool_t *db, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                        oc_query_typed_fn read, void (*done)(void), void *arg)
{
    oc_db_tx_t tx = {.tenant = tenant};
    oc_query_step(&tx, stmt, params, stmt->nparams);
    return oc_query_typed_run(db, &tx, read, done, arg);
}

void oc_query_typed(oc_thread_t *th, const char *tenant, const oc_db_stmt_t *stmt, const char *const *params,
                    oc_query_typed_fn read, void (*done)(void), void *arg)
{
    if (oc_query_typed_exec(th->db, tenant, stmt, params, read, done, arg) != 0) {
        oc_fail_t f = {0};
        oc_fail_unavailable(&f, "the database");
        read(NULL, &f, done, arg);
        oc_fail_clear(&f);
    }
}

const PGresult *oc_query_last(const oc_db_result_t *res)
{
    return res->nresults > 0 ? res->results[res->nresults - 1] : NULL;
}

void oc_query_read_done(const oc_db_result_t *res, const oc_fail_t *f, void (*done)(void), void *arg)
{
    (void)res;
    ((oc_query_done_cb)done)(arg, f);
}

const char *oc_query_int(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}
