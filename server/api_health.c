/*
 * api_health.c — /healthz, /readyz and the API index (/metrics: opslisten.c, on a listener of its own).
 */
#include "server/api.h"
#include "runtime/alloc.h"
#include "runtime/config.h"
#include "runtime/schema.h"

#include <stdlib.h>

int oc_expected_migration;       /* set by serve at start-up from migrations_dir: the latest version */
int oc_expected_migration_count; /* and how many files there are */

void oc_api_healthz(oc_req_t *r)
{
    oc_respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void oc_api_index(oc_req_t *r)
{
    oc_respond_json(r, 200,
                    json_pack("{s:s, s:s, s:s}", "name", "onecount", "version", "1", "openapi", "/openapi.json"));
}

/* /readyz runs its PostgreSQL and Redis checks concurrently: 200 "ready",
 * 200 "degraded" (Redis down), 503 "not_ready" (PostgreSQL down, or the
 * schema not at this build's migrations). */
typedef struct {
    int pending;
    const char *pg, *redis, *migrations;
    long long applied;
} ready_t;

static void ready_finish(oc_req_t *r)
{
    ready_t *st = r->state;
    if (--st->pending > 0)
        return;
    /* PostgreSQL (the truth) and the schema are required; Redis is an
     * accelerator: holds and sales go on without it, so an instance without
     * Redis stays in the load balancer, reported as degraded. */
    int ok = strcmp(st->pg, "ok") == 0 && strcmp(st->migrations, "ok") == 0;
    const char *status = !ok ? "not_ready" : strcmp(st->redis, "ok") != 0 ? "degraded" : "ready";
    json_t *body = json_pack("{s:s, s:{s:s, s:s, s:s}, s:I, s:i}", "status", status, "checks", "postgres", st->pg,
                             "redis", st->redis, "migrations", st->migrations, "schema_version",
                             (json_int_t)st->applied, "expected_schema_version", oc_expected_migration);
    if (!ok)
        oc_resp_header(r, "retry-after", "1");
    oc_respond_json(r, ok ? 200 : 503, body);
}

static void on_ready_db(void *arg, const oc_db_result_t *err, const oc_schema_version_t *v)
{
    oc_req_t *r = arg;
    ready_t *st = r->state;
    if (v == NULL) {
        st->pg = err->code == OC_EIO ? "error" : "unavailable";
        st->migrations = "unknown";
    } else {
        st->pg = "ok";
        st->applied = v->applied;
        st->migrations = v->state;
    }
    ready_finish(r);
}

static void on_ready_redis(void *arg, const char *err, redisReply *reply)
{
    oc_req_t *r = arg;
    ready_t *st = r->state;
    st->redis = err == NULL ? "ok" : "unavailable";
    ready_finish(r);
}

void oc_api_readyz(oc_req_t *r)
{
    ready_t *st = oc_calloc(1, sizeof(*st));
    st->pending = 3; /* two checks plus this function's own reference */
    st->pg = "unavailable";
    st->redis = "unavailable";
    st->migrations = "unknown";
    r->state = st;
    r->state_free = free;
    if (oc_schema_check(r->thread->db, oc_expected_migration, oc_expected_migration_count, on_ready_db, r) != 0)
        st->pending--;
    const char *ping[] = {"PING"};
    if (oc_redis_commandv(r->thread->redis, on_ready_redis, r, 1, ping, NULL) != 0)
        st->pending--;
    ready_finish(r);
}
