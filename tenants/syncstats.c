/*
 * syncstats.c — every connection's sync health (see syncstats.h).
 */
#include "tenants/syncstats.h"
#include "runtime/alloc.h"

#include <stdlib.h>

OC_DB_STMT(sm_brands, 0, "SELECT string_agg(id::text, ',' ORDER BY id) FROM brands");
OC_DB_STMT(
    sm_rows, 0,
    "SELECT json_build_array(c.tenant_id, c.id, c.kind, q.depth, q.oldest,"
    " floor(extract(epoch FROM now() - h.last_push_ok_at))::bigint, h.push_latency_ms_avg,"
    " coalesce(h.throttled_total, 0), coalesce(h.pushes_total, 0), (h.circuit = 'open')::int,"
    " coalesce(h.consecutive_failures, 0))"
    " FROM channel_connections c"
    " LEFT JOIN connection_health h ON h.tenant_id = c.tenant_id AND h.connection_id = c.id"
    " CROSS JOIN LATERAL (SELECT count(*) AS depth,"
    "   coalesce(floor(extract(epoch FROM now() - min(coalesce(l.behind_since, l.desired_at)))), 0)::bigint AS oldest"
    "   FROM listings l"
    "   WHERE l.tenant_id = c.tenant_id AND l.connection_id = c.id AND l.desired_version > l.pushed_version"
    "   AND l.state = 'active') q");

/* A read in flight. */
typedef struct {
    oc_db_pool_t *db;
    int chunk;
    int pending; /* queries in flight, plus the brands query until every chunk is sent */
    json_t *rows;
    oc_syncstats_cb cb;
    void *arg;
} read_t;

static void chunk_done(read_t *rd)
{
    if (--rd->pending > 0)
        return;
    rd->cb(rd->arg, rd->rows);
    json_decref(rd->rows);
    free(rd);
}

static void on_rows(void *arg, const oc_db_result_t *res)
{
    read_t *rd = arg;
    if (res->err == NULL) {
        json_t *rows = oc_db_json_rows(res->results[0], 0);
        json_array_extend(rd->rows, rows);
        json_decref(rows);
    }
    chunk_done(rd);
}

static void on_brands(void *arg, const oc_db_result_t *res)
{
    read_t *rd = arg;
    const char *all = res->err == NULL ? oc_db_get(res->results[0], 0, 0) : NULL;
    for (const char *p = all; p != NULL && *p;) {
        /* `chunk` ids of 36 characters, comma-separated */
        size_t len = 0;
        for (int k = 0; k < rd->chunk && p[len]; k++)
            len += 36 + (p[len + 36] == ',' ? 1 : 0);
        char *tenants = oc_strndup(p, len > 0 && p[len - 1] == ',' ? len - 1 : len);
        oc_db_tx_t tx = {.tenant = tenants, .nsteps = 1};
        tx.steps[0].stmt = &sm_rows;
        rd->pending++;
        if (oc_db_run(rd->db, &tx, on_rows, rd) != 0)
            rd->pending--;
        free(tenants);
        p += len;
    }
    chunk_done(rd);
}

int oc_syncstats_read(oc_db_pool_t *db, int chunk, oc_syncstats_cb cb, void *arg)
{
    read_t *rd = oc_calloc(1, sizeof(*rd));
    *rd = (read_t){.db = db, .chunk = chunk, .pending = 1, .rows = json_array(), .cb = cb, .arg = arg};
    oc_db_tx_t tx = {.nsteps = 1};
    tx.steps[0].stmt = &sm_brands;
    int rc = oc_db_run(db, &tx, on_brands, rd);
    if (rc != 0) {
        json_decref(rd->rows);
        free(rd);
    }
    return rc;
}
