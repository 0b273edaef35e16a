/*
 * api_health.c — /healthz, /readyz and the API index (/metrics: opslisten.c, on a listener of its own).
 */
#include "server/api.h"
#include "runtime/config.h"

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

/* Applied: the latest version, and how many of the files' versions (a
 * migration merged late, below the latest, counts as pending until applied). */
OC_DB_STMT(health_schema_version, 1,
           "SELECT coalesce(max(version), 0), count(*) FILTER (WHERE version <= $1::int) FROM onecount_migrations");

static void on_ready_db(void *arg, const oc_db_result_t *res)
{
    oc_req_t *r = arg;
    ready_t *st = r->state;
    if (res->err != NULL) {
        st->pg = res->code == OC_EIO ? "error" : "unavailable";
        st->migrations = "unknown";
    } else {
        st->pg = "ok";
        st->applied = oc_db_get_ll(res->results[0], 0, 0, 0);
        long long count = oc_db_get_ll(res->results[0], 0, 1, 0);
        st->migrations = st->applied > oc_expected_migration   ? "ahead"
                         : count < oc_expected_migration_count ? "pending"
                                                               : "ok";
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
    ready_t *st = calloc(1, sizeof(*st));
    st->pending = 3; /* two checks plus this function's own reference */
    st->pg = "unavailable";
    st->redis = "unavailable";
    st->migrations = "unknown";
    r->state = st;
    r->state_free = free;
    char latest[16];
    snprintf(latest, sizeof(latest), "%d", oc_expected_migration);
    const char *p[] = {latest};
    if (oc_db_exec(r->thread->db, NULL, &health_schema_version, p, on_ready_db, r) != 0)
        st->pending--;
    const char *ping[] = {"PING"};
    if (oc_redis_commandv(r->thread->redis, on_ready_redis, r, 1, ping, NULL) != 0)
        st->pending--;
    ready_finish(r);
}
