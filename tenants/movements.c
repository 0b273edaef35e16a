/*
 * movements.c — a movement from request to published balances (see
 * movements.h): resolve → gate → post → ungate → publish.
 */
#include "tenants/movements.h"
#include "tenants/catalog.h"
#include "tenants/holds.h"

#include <stdio.h>
#include <stdlib.h>

/* How long a sale's gate reservation may count if its sale never ends it. */
#define GATE_MS 30000

typedef struct {
    oc_thread_t *th;
    const oc_movement_t *m;
    const oc_actor_t *a;
    oc_ledger_cb cb;
    void *arg;
    int gated;
    char gate_id[80];
    int nskus;
    long long sku[OC_HOLD_MAX_SKUS], qty[OC_HOLD_MAX_SKUS];
    int line_of[OC_HOLD_MAX_SKUS]; /* the requested line of each of sku[] */
    json_t *body;                  /* the ledger's answer, kept while the hold gate hears of it */
    int replayed;
} move_t;

static void finish(move_t *mv, const oc_ledger_outcome_t *out)
{
    mv->cb(mv->arg, out);
    json_decref(mv->body);
    free(mv);
}

static void on_published(void *arg)
{
    move_t *mv = arg;
    oc_ledger_outcome_t out = {.body = mv->body, .replayed = mv->replayed};
    finish(mv, &out);
}

static void on_posted(void *arg, const oc_ledger_outcome_t *out)
{
    move_t *mv = arg;
    if (mv->gated)
        oc_holds_release_redis(mv->th, mv->a->tenant, mv->gate_id, NULL, NULL);
    if (out->fail != NULL || out->replayed) {
        finish(mv, out);
        return;
    }
    /* answer once the hold gate knows the new quantities: a hold asked after this answer sees them */
    mv->body = json_incref(out->body);
    oc_holds_publish_balances(mv->th->redis, mv->a->tenant, mv->body, on_published, mv);
}

static void post(move_t *mv)
{
    oc_ledger_post(mv->th, mv->m, mv->a, mv->nskus > 0 ? mv->sku[0] : 0, on_posted, mv);
}

static void on_gate(void *arg, const oc_reserve_outcome_t *res)
{
    move_t *mv = arg;
    if (res->result == OC_RESERVE_INSUFFICIENT) {
        /* Name the SKU: map the component id back to a requested code. */
        const char *code = "a SKU";
        for (int j = 0; j < mv->nskus; j++)
            if (mv->sku[j] == res->short_sku_id)
                code = mv->m->lines[mv->line_of[j]].sku;
        oc_fail_t f = {0};
        oc_fail(&f, OC_FAIL_CONFLICT, "insufficient_stock", "lines",
                "%s: not enough available once active holds are counted (%lld free)", code,
                res->available > 0 ? res->available : 0);
        oc_ledger_outcome_t out = {.fail = &f};
        finish(mv, &out);
        oc_fail_clear(&f);
        return;
    }
    mv->gated = res->result == OC_RESERVE_OK;
    post(mv);
}

static void on_refs(void *arg, const oc_db_result_t *err, const oc_sku_ref_t *const *refs)
{
    move_t *mv = arg;
    const oc_movement_t *m = mv->m;
    if (err != NULL) {
        oc_fail_t f = {0};
        oc_fail_db(&f, err);
        oc_ledger_outcome_t out = {.fail = &f};
        finish(mv, &out);
        oc_fail_clear(&f);
        return;
    }
    long long qty[OC_MOVEMENT_MAX_LINES];
    for (int i = 0; i < m->nlines; i++) {
        if (refs[i] == NULL) {
            post(mv); /* unknown SKU: the ledger refuses it with the line */
            return;
        }
        qty[i] = m->lines[i].qty;
    }
    mv->nskus = oc_catalog_expand(refs, qty, m->nlines, mv->sku, mv->qty, OC_HOLD_MAX_SKUS);
    if (mv->nskus <= 0) {
        mv->nskus = 0;
        post(mv);
        return;
    }
    if (!m->guard || !oc_redis_ready(mv->th->redis)) {
        post(mv);
        return;
    }
    oc_catalog_lines_of(refs, m->nlines, mv->sku, mv->nskus, mv->line_of);
    snprintf(mv->gate_id, sizeof(mv->gate_id), "sale:%s", mv->a->request_id ? mv->a->request_id : "");
    oc_holds_reserve(mv->th, mv->a->tenant, mv->gate_id, mv->sku, mv->qty, mv->nskus, oc_now_ms() + GATE_MS, on_gate,
                     mv);
}

void oc_movement_post(oc_thread_t *th, const oc_movement_t *m, const oc_actor_t *a, oc_ledger_cb cb, void *arg)
{
    move_t *mv = oc_calloc(1, sizeof(*mv));
    *mv = (move_t){.th = th, .m = m, .a = a, .cb = cb, .arg = arg};
    const char *codes[OC_MOVEMENT_MAX_LINES];
    int n = m->nlines < OC_MOVEMENT_MAX_LINES ? m->nlines : OC_MOVEMENT_MAX_LINES;
    for (int k = 0; k < n; k++)
        codes[k] = m->lines[k].sku;
    if (oc_catalog_resolve(th, a->tenant, codes, n, on_refs, mv) != 0)
        post(mv);
}
