/*
 * holds.c — the Redis side of holds, their mirror into PostgreSQL, and the
 * expiry sweeper (see holds.h).
 *
 * Keys, all tagged with the brand so one brand's keys share a cluster slot:
 *   oc:{t}:b:<sku>   "<version> <on_hand - committed>" from PostgreSQL (5 min TTL)
 *   oc:{t}:h:<sku>   units held by active holds
 *   oc:{t}:e:<sku>   sorted set: hold ids by expiry (ms)
 *   oc:{t}:holds     hash: hold id -> "<expires_ms>|<sku>:<qty>,…|<request hash>|<hold JSON>"
 *                    (the scripts read only the first two fields)
 */
#include "tenants/holds.h"
#include "server/log.h"
#include "server/metrics.h"

#include <stdio.h>
#include <stdlib.h>

/* Releases one hold's units: shared by the scripts below. */
#define LUA_RELEASE                                                                                                    \
    "local function release(prefix, hk, hid)\n"                                                                        \
    "  local spec = redis.call('HGET', hk, hid)\n"                                                                     \
    "  if not spec then return nil end\n"                                                                              \
    "  local body = string.match(spec, '^%d+|([^|]*)') or ''\n"                                                        \
    "  for sku, q in string.gmatch(body, '(%d+):(%d+)') do\n"                                                          \
    "    local hkey = prefix .. 'h:' .. sku\n"                                                                         \
    "    if redis.call('EXISTS', hkey) == 1 then redis.call('DECRBY', hkey, q) end\n"                                  \
    "    redis.call('ZREM', prefix .. 'e:' .. sku, hid)\n"                                                             \
    "  end\n"                                                                                                          \
    "  redis.call('HDEL', hk, hid)\n"                                                                                  \
    "  return spec\n"                                                                                                  \
    "end\n"

/* KEYS: per SKU (base, held, exp) ..., holds hash.
 * ARGV: now_ms, id, expires_ms, spec, prefix, then per SKU: sku, qty. */
static oc_redis_script_t reserve_script = {
    LUA_RELEASE "local now, id, exp, spec, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
                "local n = (#KEYS - 1) / 3\n"
                "local hk = KEYS[#KEYS]\n"
                "for i = 0, n - 1 do\n"
                "  for _, hid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[i * 3 + 3], '-inf', now)) do\n"
                "    if not release(prefix, hk, hid) then redis.call('ZREM', KEYS[i * 3 + 3], hid) end\n"
                "  end\n"
                "end\n"
                "local miss = {}\n"
                "for i = 0, n - 1 do\n"
                "  if redis.call('EXISTS', KEYS[i * 3 + 1]) == 0 or redis.call('EXISTS', KEYS[i * 3 + 2]) == 0 then\n"
                "    miss[#miss + 1] = ARGV[6 + i * 2]\n"
                "  end\n"
                "end\n"
                "if #miss > 0 then return {'MISS', unpack(miss)} end\n"
                "if redis.call('HEXISTS', hk, id) == 1 then return {'DUPLICATE'} end\n"
                "for i = 0, n - 1 do\n"
                "  local base = tonumber(string.match(redis.call('GET', KEYS[i * 3 + 1]), ' (%-?%d+)$'))\n"
                "  local held = tonumber(redis.call('GET', KEYS[i * 3 + 2]))\n"
                "  if base - held < tonumber(ARGV[7 + i * 2]) then\n"
                "    return {'INSUFFICIENT', ARGV[6 + i * 2], tostring(base - held)}\n"
                "  end\n"
                "end\n"
                "for i = 0, n - 1 do\n"
                "  redis.call('INCRBY', KEYS[i * 3 + 2], ARGV[7 + i * 2])\n"
                "  redis.call('ZADD', KEYS[i * 3 + 3], exp, id)\n"
                "end\n"
                "redis.call('HSET', hk, id, spec)\n"
                "return {'OK'}\n"};

/* KEYS: holds hash.  ARGV: id, prefix.  Returns the spec, or nil. */
static oc_redis_script_t release_script = {LUA_RELEASE "return release(ARGV[2], KEYS[1], ARGV[1])\n"};

/* KEYS: base, held, exp, holds hash.  ARGV: version, base, held, then (id, expires_ms, spec)*. */
static oc_redis_script_t fill_script = {"local cur = redis.call('GET', KEYS[1])\n"
                                        "if not cur or tonumber(string.match(cur, '^(%d+)')) < tonumber(ARGV[1]) then\n"
                                        "  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', 300)\n"
                                        "end\n"
                                        "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
                                        "  redis.call('SET', KEYS[2], ARGV[3])\n"
                                        "  for i = 4, #ARGV, 3 do\n"
                                        "    redis.call('ZADD', KEYS[3], ARGV[i + 1], ARGV[i])\n"
                                        "    redis.call('HSETNX', KEYS[4], ARGV[i], ARGV[i + 2])\n"
                                        "  end\n"
                                        "end\n"
                                        "return 1\n"};

/* KEYS: base.  ARGV: version, base.  Updates only a cached, older value. */
static oc_redis_script_t set_base_script = {
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur and tonumber(string.match(cur, '^(%d+)')) < tonumber(ARGV[1]) then\n"
    "  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'KEEPTTL')\n"
    "end\n"
    "return 1\n"};

static oc_metric_t m_reserve_ok = {"onecount_hold_reservations_total", "Redis hold reservations by result.",
                                   "result=\"ok\"", OC_METRIC_COUNTER};
static oc_metric_t m_reserve_short = {"onecount_hold_reservations_total", "Redis hold reservations by result.",
                                      "result=\"insufficient\"", OC_METRIC_COUNTER};
static oc_metric_t m_reserve_miss = {"onecount_hold_reservations_total", "Redis hold reservations by result.",
                                     "result=\"cache_rebuild\"", OC_METRIC_COUNTER};
static oc_metric_t m_reserve_down = {"onecount_hold_reservations_total", "Redis hold reservations by result.",
                                     "result=\"redis_unavailable\"", OC_METRIC_COUNTER};
static oc_metric_t m_mirror_pending = {"onecount_hold_mirror_pending", "Holds waiting to be mirrored to PostgreSQL.",
                                       NULL, OC_METRIC_GAUGE};
static oc_metric_t m_expired = {"onecount_holds_expired_total", "Holds ended by the expiry sweeper.", NULL,
                                OC_METRIC_COUNTER};

void oc_holds_init(void)
{
    oc_redis_script_t *scripts[] = {&reserve_script, &release_script, &fill_script, &set_base_script};
    for (size_t i = 0; i < OC_ARRAY_SIZE(scripts); i++)
        oc_redis_script_init(scripts[i]);
    oc_metric_t *all[] = {&m_reserve_ok,   &m_reserve_short,  &m_reserve_miss,
                          &m_reserve_down, &m_mirror_pending, &m_expired};
    for (size_t i = 0; i < OC_ARRAY_SIZE(all); i++)
        oc_metrics_register(all[i]);
}

static void key(char *out, size_t cap, const char *tenant, const char *kind, long long sku)
{
    if (sku >= 0)
        snprintf(out, cap, "oc:{%s}:%s:%lld", tenant, kind, sku);
    else
        snprintf(out, cap, "oc:{%s}:%s", tenant, kind);
}

static void ignore_reply(void *arg, const char *err, redisReply *reply)
{
}

/* --- reserve ------------------------------------------------------------------ */

typedef struct {
    oc_thread_t *th;
    char tenant[37], id[64];
    int n;
    long long sku[OC_HOLD_MAX_SKUS], qty[OC_HOLD_MAX_SKUS];
    uint64_t expires_ms;
    char *extra;
    int rounds;        /* reservation attempts sent */
    int pending_fills; /* cache rebuilds awaiting their reply */
    oc_reserve_cb cb;
    void *arg;
} reserve_t;

static void reserve_send(reserve_t *rv);

static void reserve_done(reserve_t *rv, oc_reserve_result_t result, long long sku, long long avail)
{
    oc_reserve_outcome_t out = {result, sku, avail};
    rv->cb(rv->arg, &out);
    free(rv->extra);
    free(rv);
}

/* Rebuilding a SKU's cache entry from PostgreSQL: balances and active holds. */
OC_DB_STMT(holds_fill_data, 2,
           "SELECT s.sku_id, s.version, s.on_hand - s.committed, s.held,"
           " coalesce((SELECT json_agg(json_build_array(h.id, (extract(epoch FROM h.expires_at) * 1000)::bigint,"
           "   h.lines)) FROM holds h WHERE h.tenant_id = s.tenant_id AND h.state = 'active'"
           "   AND h.lines @> jsonb_build_array(jsonb_build_object('sku_id', s.sku_id))), '[]')"
           " FROM stock s WHERE s.tenant_id = $1 AND s.sku_id = ANY ($2::bigint[])");

static void spec_of_lines(json_t *lines, long long expires_ms, oc_buf_t *out)
{
    oc_buf_printf(out, "%lld|", expires_ms);
    size_t i;
    json_t *l;
    json_array_foreach(lines, i, l)
    {
        oc_buf_printf(out, "%s%lld:%lld", i ? "," : "", (long long)json_integer_value(json_object_get(l, "sku_id")),
                      (long long)json_integer_value(json_object_get(l, "qty")));
    }
}

static void on_fill_reply(void *arg, const char *err, redisReply *reply)
{
    reserve_t *rv = arg;
    if (--rv->pending_fills > 0)
        return; /* wait for every fill of this round */
    reserve_send(rv);
}

static void on_fill_data(void *arg, const oc_db_result_t *res)
{
    reserve_t *rv = arg;
    if (res->err != NULL) {
        reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
        return;
    }
    const PGresult *r = res->results[0];
    int rows = PQntuples(r);
    if (rows == 0) {
        reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
        return;
    }
    rv->pending_fills = rows;
    int sent = 0;
    for (int i = 0; i < rows; i++) {
        long long sku = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        char kb[128], kh[128], ke[128], kk[128];
        key(kb, sizeof(kb), rv->tenant, "b", sku);
        key(kh, sizeof(kh), rv->tenant, "h", sku);
        key(ke, sizeof(ke), rv->tenant, "e", sku);
        key(kk, sizeof(kk), rv->tenant, "holds", -1);
        json_t *holds = json_loads(PQgetvalue(r, i, 4), 0, NULL);
        size_t nh = json_array_size(holds);
        int argc = 4 + 3 + (int)nh * 3;
        const char **argv = calloc((size_t)argc, sizeof(char *));
        char **owned = calloc(nh * 3 + 1, sizeof(char *));
        argv[0] = kb, argv[1] = kh, argv[2] = ke, argv[3] = kk;
        argv[4] = PQgetvalue(r, i, 1);
        argv[5] = PQgetvalue(r, i, 2);
        argv[6] = PQgetvalue(r, i, 3);
        for (size_t h = 0; h < nh; h++) {
            json_t *e = json_array_get(holds, h);
            long long exp = (long long)json_integer_value(json_array_get(e, 1));
            oc_buf_t spec = {0};
            spec_of_lines(json_array_get(e, 2), exp, &spec);
            char expbuf[32];
            snprintf(expbuf, sizeof(expbuf), "%lld", exp);
            owned[h * 3] = strdup(json_string_value(json_array_get(e, 0)));
            owned[h * 3 + 1] = strdup(expbuf);
            owned[h * 3 + 2] = strdup(oc_buf_cstr(&spec));
            oc_buf_free(&spec);
            argv[7 + h * 3] = owned[h * 3];
            argv[7 + h * 3 + 1] = owned[h * 3 + 1];
            argv[7 + h * 3 + 2] = owned[h * 3 + 2];
        }
        if (oc_redis_eval(rv->th->redis, &fill_script, on_fill_reply, rv, 4, argc, argv, NULL) == 0)
            sent++;
        else
            rv->pending_fills--;
        for (size_t h = 0; h < nh * 3; h++)
            free(owned[h]);
        free(owned);
        free(argv);
        json_decref(holds);
    }
    if (sent == 0)
        reserve_done(rv, OC_RESERVE_UNAVAILABLE, 0, 0);
}

static void on_reserve_reply(void *arg, const char *err, redisReply *reply)
{
    reserve_t *rv = arg;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
        oc_metric_add(&m_reserve_down, 1);
        reserve_done(rv, OC_RESERVE_UNAVAILABLE, 0, 0);
        return;
    }
    const char *tag = reply->element[0]->str;
    if (strcmp(tag, "OK") == 0) {
        oc_metric_add(&m_reserve_ok, 1);
        reserve_done(rv, OC_RESERVE_OK, 0, 0);
    } else if (strcmp(tag, "INSUFFICIENT") == 0 && reply->elements >= 3) {
        oc_metric_add(&m_reserve_short, 1);
        reserve_done(rv, OC_RESERVE_INSUFFICIENT, strtoll(reply->element[1]->str, NULL, 10),
                     strtoll(reply->element[2]->str, NULL, 10));
    } else if (strcmp(tag, "MISS") == 0 && rv->rounds == 1) {
        /* Rebuild the missing entries from PostgreSQL, then try once more. */
        oc_metric_add(&m_reserve_miss, 1);
        oc_buf_t arr = {0};
        oc_buf_append(&arr, "{", 1);
        for (size_t i = 1; i < reply->elements; i++)
            oc_buf_printf(&arr, "%s%s", i > 1 ? "," : "", reply->element[i]->str);
        oc_buf_append(&arr, "}", 1);
        const char *params[2] = {rv->tenant, oc_buf_cstr(&arr)};
        int rc = oc_db_exec(rv->th->db, rv->tenant, &holds_fill_data, params, on_fill_data, rv);
        oc_buf_free(&arr);
        if (rc != 0)
            reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
    } else if (strcmp(tag, "DUPLICATE") == 0) {
        reserve_done(rv, OC_RESERVE_DUPLICATE, 0, 0);
    } else {
        reserve_done(rv, OC_RESERVE_ERROR, 0, 0);
    }
}

static void reserve_send(reserve_t *rv)
{
    rv->rounds++;
    char keys[OC_HOLD_MAX_SKUS * 3 + 1][96];
    char nums[OC_HOLD_MAX_SKUS * 2][24];
    const char *argv[OC_HOLD_MAX_SKUS * 3 + 1 + 5 + OC_HOLD_MAX_SKUS * 2];
    int k = 0;
    for (int i = 0; i < rv->n; i++) {
        key(keys[i * 3], sizeof(keys[0]), rv->tenant, "b", rv->sku[i]);
        key(keys[i * 3 + 1], sizeof(keys[0]), rv->tenant, "h", rv->sku[i]);
        key(keys[i * 3 + 2], sizeof(keys[0]), rv->tenant, "e", rv->sku[i]);
        argv[k++] = keys[i * 3], argv[k++] = keys[i * 3 + 1], argv[k++] = keys[i * 3 + 2];
    }
    key(keys[rv->n * 3], sizeof(keys[0]), rv->tenant, "holds", -1);
    argv[k++] = keys[rv->n * 3];
    int nkeys = k;
    char now[24], exp[24], prefix[64];
    snprintf(now, sizeof(now), "%llu", (unsigned long long)oc_now_ms());
    snprintf(exp, sizeof(exp), "%llu", (unsigned long long)rv->expires_ms);
    snprintf(prefix, sizeof(prefix), "oc:{%s}:", rv->tenant);
    oc_buf_t spec = {0};
    oc_buf_printf(&spec, "%llu|", (unsigned long long)rv->expires_ms);
    for (int i = 0; i < rv->n; i++)
        oc_buf_printf(&spec, "%s%lld:%lld", i ? "," : "", rv->sku[i], rv->qty[i]);
    if (rv->extra != NULL)
        oc_buf_printf(&spec, "|%s", rv->extra);
    argv[k++] = now, argv[k++] = rv->id, argv[k++] = exp, argv[k++] = oc_buf_cstr(&spec), argv[k++] = prefix;
    for (int i = 0; i < rv->n; i++) {
        snprintf(nums[i * 2], sizeof(nums[0]), "%lld", rv->sku[i]);
        snprintf(nums[i * 2 + 1], sizeof(nums[0]), "%lld", rv->qty[i]);
        argv[k++] = nums[i * 2], argv[k++] = nums[i * 2 + 1];
    }
    int rc = oc_redis_eval(rv->th->redis, &reserve_script, on_reserve_reply, rv, nkeys, k, argv, NULL);
    oc_buf_free(&spec);
    if (rc != 0) {
        oc_metric_add(&m_reserve_down, 1);
        /* Never call back synchronously: defer through a zero timer. */
        reserve_done(rv, OC_RESERVE_UNAVAILABLE, 0, 0);
    }
}

void oc_holds_reserve(oc_thread_t *th, const char *tenant, const char *id, const long long *sku, const long long *qty,
                      int n, uint64_t expires_ms, oc_reserve_cb cb, void *arg)
{
    oc_holds_reserve_ex(th, tenant, id, sku, qty, n, expires_ms, NULL, cb, arg);
}

void oc_holds_reserve_ex(oc_thread_t *th, const char *tenant, const char *id, const long long *sku,
                         const long long *qty, int n, uint64_t expires_ms, const char *extra, oc_reserve_cb cb,
                         void *arg)
{
    reserve_t *rv = calloc(1, sizeof(*rv));
    rv->th = th;
    oc_strlcpy(rv->tenant, tenant, strlen(tenant), sizeof(rv->tenant));
    oc_strlcpy(rv->id, id, strlen(id), sizeof(rv->id));
    rv->n = n > OC_HOLD_MAX_SKUS ? OC_HOLD_MAX_SKUS : n;
    memcpy(rv->sku, sku, sizeof(long long) * (size_t)rv->n);
    memcpy(rv->qty, qty, sizeof(long long) * (size_t)rv->n);
    rv->expires_ms = expires_ms;
    rv->extra = extra != NULL ? strdup(extra) : NULL;
    rv->cb = cb;
    rv->arg = arg;
    reserve_send(rv);
}

typedef struct {
    void (*done)(void *arg);
    void *arg;
} released_t;

static void on_released(void *arg, const char *err, redisReply *reply)
{
    released_t *d = arg;
    d->done(d->arg);
    free(d);
}

void oc_holds_release_redis(oc_thread_t *th, const char *tenant, const char *id, void (*done)(void *arg), void *arg)
{
    char hk[96], prefix[64];
    key(hk, sizeof(hk), tenant, "holds", -1);
    snprintf(prefix, sizeof(prefix), "oc:{%s}:", tenant);
    const char *argv[] = {hk, id, prefix};
    released_t *d = done != NULL ? malloc(sizeof(*d)) : NULL;
    if (d != NULL)
        *d = (released_t){done, arg};
    if (oc_redis_eval(th->redis, &release_script, d != NULL ? on_released : ignore_reply, d, 1, 3, argv, NULL) != 0) {
        free(d);
        if (done != NULL)
            done(arg);
    }
}

typedef struct {
    void (*cb)(void *arg, const char *spec);
    void *arg;
} get_t;

static void on_get(void *arg, const char *err, redisReply *reply)
{
    get_t *g = arg;
    const char *spec = reply != NULL && reply->type == REDIS_REPLY_STRING ? reply->str : NULL;
    if (spec != NULL && strtoull(spec, NULL, 10) <= oc_now_ms())
        spec = NULL; /* expired: the sweeper or the next reservation clears it */
    g->cb(g->arg, spec);
    free(g);
}

void oc_holds_get_redis(oc_thread_t *th, const char *tenant, const char *id, void (*cb)(void *arg, const char *spec),
                        void *arg)
{
    char hk[96];
    key(hk, sizeof(hk), tenant, "holds", -1);
    const char *argv[] = {"HGET", hk, id};
    get_t *g = calloc(1, sizeof(*g));
    g->cb = cb;
    g->arg = arg;
    if (oc_redis_commandv(th->redis, on_get, g, 3, argv, NULL) != 0) {
        free(g);
        cb(arg, NULL); /* callers treat NULL as "ask PostgreSQL" */
    }
}

typedef struct {
    void (*done)(void *arg);
    void *arg;
    size_t left; /* replies awaited, plus one while sending */
} bases_t;

static void on_base_set(void *arg, const char *err, redisReply *reply)
{
    bases_t *b = arg;
    if (--b->left > 0)
        return;
    if (b->done != NULL)
        b->done(b->arg);
    free(b);
}

void oc_holds_set_bases(oc_redis_t *redis, const char *tenant, const long long *bases, size_t n,
                        void (*done)(void *arg), void *arg)
{
    bases_t *b = malloc(sizeof(*b));
    if (b == NULL) {
        if (done != NULL)
            done(arg);
        return;
    }
    *b = (bases_t){done, arg, 1};
    for (size_t i = 0; i < n; i++) {
        char kb[96], v[24], base[24];
        key(kb, sizeof(kb), tenant, "b", bases[3 * i]);
        snprintf(v, sizeof(v), "%lld", bases[3 * i + 1]);
        snprintf(base, sizeof(base), "%lld", bases[3 * i + 2]);
        const char *argv[] = {kb, v, base};
        if (oc_redis_eval(redis, &set_base_script, on_base_set, b, 1, 3, argv, NULL) == 0)
            b->left++;
    }
    on_base_set(b, NULL, NULL); /* the sending is over */
}

/* Every stock write stamps updated_at with its transaction's now(): these are the transaction's own. */
OC_DB_STMT(holds_touched, 1,
           "SELECT sku_id AS base_sku, version, on_hand - committed FROM stock WHERE tenant_id = $1"
           " AND updated_at = now()");

void oc_holds_touched_step(oc_db_tx_t *tx, const char *tenant)
{
    int i = tx->nsteps++;
    tx->steps[i].stmt = &holds_touched;
    tx->steps[i].params[0] = tenant;
}

void oc_holds_publish_touched(oc_redis_t *redis, const char *tenant, const oc_db_result_t *res, void (*done)(void *arg),
                              void *arg)
{
    const PGresult *r = NULL;
    for (int i = res->nresults - 1; i >= 0 && r == NULL; i--)
        if (res->results[i] != NULL && PQnfields(res->results[i]) == 3 &&
            strcmp(PQfname(res->results[i], 0), "base_sku") == 0)
            r = res->results[i];
    size_t n = r != NULL ? (size_t)PQntuples(r) : 0;
    long long *bases = n > 0 ? malloc(n * 3 * sizeof(long long)) : NULL;
    if (bases == NULL) {
        if (done != NULL)
            done(arg);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (int col = 0; col < 3; col++)
            bases[3 * i + (size_t)col] = oc_db_get_ll(r, (int)i, col, 0);
    oc_holds_set_bases(redis, tenant, bases, n, done, arg);
    free(bases);
}

/* --- the mirror into PostgreSQL ------------------------------------------------------ */

#define MIRROR_MAX_PENDING 100000
#define MIRROR_DELAY_MS    10   /* a flush waits this long for company (one per hold would cost more than the hold) */
#define MIRROR_FULL        1000 /* ... unless this many are waiting */
#define MIRROR_BATCH       2000 /* holds per transaction: a batch must finish well inside the statement timeout */
#define MIRROR_BRANDS      256  /* brands per transaction */

typedef struct {
    oc_thread_t *th;
    json_t *pending; /* object: tenant -> array of holds, each a JSON string of its mirror text */
    size_t npending;
    char flushed_last[37]; /* the brand the last flush ended with */
    int inflight;
    oc_timer_t timer;
    int backoff_ms;
    /* the sweeper */
    oc_timer_t sweep_timer;
    char sweep_cursor[37];
    int sweeping;
} mirror_t;

static void mirror_dispose(void *p)
{
    mirror_t *m = p;
    oc_timer_stop(m->th->loop, &m->timer);
    oc_timer_stop(m->th->loop, &m->sweep_timer);
    oc_metric_add(&m_mirror_pending, -(int64_t)m->npending);
    json_decref(m->pending);
    free(m);
}

static void mirror_flush(oc_timer_t *t);
static void sweep(oc_timer_t *t);

static mirror_t *mirror_of(oc_thread_t *th)
{
    if (th->modules[OC_MODULE_HOLDS].p == NULL) {
        mirror_t *m = calloc(1, sizeof(*m));
        m->th = th;
        m->pending = json_object();
        oc_timer_init(&m->timer, mirror_flush, m);
        oc_timer_init(&m->sweep_timer, sweep, m);
        th->modules[OC_MODULE_HOLDS].p = m;
        th->modules[OC_MODULE_HOLDS].dispose = mirror_dispose;
    }
    return th->modules[OC_MODULE_HOLDS].p;
}

OC_DB_STMT(holds_mirror_stmt, 1, "SELECT holds_mirror_brands($1::jsonb)");

/* A hold's mirror text starts with its expiry: {"expires_ms":N, ... */
#define TEXT_EXPIRES "{\"expires_ms\":"

static uint64_t text_expires_ms(const char *text)
{
    return strtoull(text + strlen(TEXT_EXPIRES), NULL, 10);
}

typedef struct {
    mirror_t *m;
    json_t *batch; /* tenant -> holds, kept to requeue on failure */
    size_t n;
    int cut; /* holds were left for the next flush: it goes at once */
} flush_t;

static void on_flushed(void *arg, const oc_db_result_t *res)
{
    flush_t *f = arg;
    mirror_t *m = f->m;
    m->inflight = 0;
    if (res->err != NULL) {
        /* Put them back (dropping holds that have expired meanwhile) and retry later. */
        const char *tenant;
        json_t *arr;
        uint64_t now = oc_now_ms();
        json_object_foreach(f->batch, tenant, arr)
        {
            size_t i;
            json_t *h;
            json_array_foreach(arr, i, h)
            {
                if (text_expires_ms(json_string_value(h)) <= now)
                    continue;
                json_t *dst = json_object_get(m->pending, tenant);
                if (dst == NULL)
                    json_object_set_new(m->pending, tenant, dst = json_array());
                json_array_append(dst, h);
                m->npending++;
                oc_metric_add(&m_mirror_pending, 1);
            }
        }
        m->backoff_ms = m->backoff_ms ? (m->backoff_ms * 2 > 2000 ? 2000 : m->backoff_ms * 2) : 50;
        oc_timer_start(m->th->loop, &m->timer, (uint64_t)m->backoff_ms);
    } else {
        m->backoff_ms = 0;
        if (m->npending > 0)
            oc_timer_start(m->th->loop, &m->timer, f->cut || m->npending >= MIRROR_FULL ? 0 : MIRROR_DELAY_MS);
    }
    json_decref(f->batch);
    free(f);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * One statement of at most MIRROR_BATCH holds of at most MIRROR_BRANDS brands
 * (app.tenant_id lists them), taking brands round the sorted list from where
 * the last flush stopped, so none waits behind busier ones.  The order sent
 * does not matter for locks: holds_mirror_brands() locks stock in (brand,
 * sku) order, as every other path does.
 */
static void mirror_flush(oc_timer_t *t)
{
    mirror_t *m = t->data;
    if (m->inflight || m->npending == 0)
        return;
    flush_t *f = calloc(1, sizeof(*f));
    f->m = m;
    f->batch = json_object();
    size_t nt = 0;
    const char **tenants = malloc(json_object_size(m->pending) * sizeof(*tenants));
    const char *tenant;
    json_t *arr;
    json_object_foreach(m->pending, tenant, arr)
    {
        tenants[nt++] = tenant;
    }
    qsort(tenants, nt, sizeof(tenants[0]), cmp_str);
    size_t first = 0;
    while (first < nt && strcmp(tenants[first], m->flushed_last) <= 0)
        first++;
    oc_buf_t holds = {0}, list = {0};
    oc_buf_append(&holds, "[", 1);
    for (size_t j = 0; j < nt && j < MIRROR_BRANDS && f->n < MIRROR_BATCH; j++) {
        size_t k = (first + j) % nt;
        json_t *all = json_object_get(m->pending, tenants[k]), *part = json_array();
        size_t take = json_array_size(all);
        if (take > MIRROR_BATCH - f->n)
            take = MIRROR_BATCH - f->n;
        for (size_t i = 0; i < take; i++) {
            json_t *text = json_array_get(all, i);
            json_array_append(part, text);
            if (f->n + i > 0)
                oc_buf_append(&holds, ",", 1);
            oc_buf_append(&holds, json_string_value(text), json_string_length(text));
        }
        json_object_set_new(f->batch, tenants[k], part);
        f->n += take;
        oc_buf_printf(&list, "%s%s", j ? "," : "", tenants[k]);
        oc_strlcpy(m->flushed_last, tenants[k], strlen(tenants[k]), sizeof(m->flushed_last));
    }
    free(tenants);
    f->cut = m->npending > f->n;
    oc_db_tx_t tx = {.tenant = oc_buf_cstr(&list), .nsteps = 1};
    tx.steps[0].stmt = &holds_mirror_stmt;
    oc_buf_append(&holds, "]", 1);
    tx.steps[0].params[0] = oc_buf_cstr(&holds);
    int rc = oc_db_run(m->th->db, &tx, on_flushed, f);
    oc_buf_free(&holds);
    oc_buf_free(&list);
    /* The statement holds a copy: drop what was sent from the pending set. */
    json_object_foreach(f->batch, tenant, arr)
    {
        json_t *all = json_object_get(m->pending, tenant);
        if (json_array_size(arr) == json_array_size(all))
            json_object_del(m->pending, tenant);
        else {
            json_t *rest = json_array();
            for (size_t i = json_array_size(arr); i < json_array_size(all); i++)
                json_array_append(rest, json_array_get(all, i));
            json_object_set_new(m->pending, tenant, rest);
        }
    }
    m->npending -= f->n;
    oc_metric_add(&m_mirror_pending, -(int64_t)f->n);
    if (rc != 0) {
        oc_db_result_t fail = {.err = "unavailable", .code = rc};
        on_flushed(f, &fail);
        return;
    }
    m->inflight = 1;
}

void oc_holds_mirror(oc_thread_t *th, const char *tenant, const oc_hold_mirror_t *hold)
{
    mirror_t *m = mirror_of(th);
    if (m->npending >= MIRROR_MAX_PENDING)
        return; /* the hold lives in Redis and expires there; confirmation re-checks in PostgreSQL */
    /* What holds_mirror_brands() reads, written once here instead of built as
     * JSON objects and serialized again at every flush. */
    oc_buf_t t = {0};
    oc_buf_printf(&t, TEXT_EXPIRES "%llu,\"created_ms\":%llu,\"tenant\":\"%s\",\"id\":\"%s\",\"lines\":[",
                  (unsigned long long)hold->expires_ms, (unsigned long long)hold->created_ms, tenant, hold->id);
    for (int i = 0; i < hold->n; i++)
        oc_buf_printf(&t, "%s{\"sku_id\":%lld,\"qty\":%lld}", i ? "," : "", hold->sku[i], hold->qty[i]);
    oc_buf_printf(&t, "],\"request\":%s", hold->request_json);
    if (hold->reference_json != NULL)
        oc_buf_printf(&t, ",\"reference\":%s", hold->reference_json);
    oc_buf_append(&t, "}", 1);
    json_t *arr = json_object_get(m->pending, tenant);
    if (arr == NULL)
        json_object_set_new(m->pending, tenant, arr = json_array());
    json_array_append_new(arr, json_stringn_nocheck(oc_buf_cstr(&t), t.len));
    oc_buf_free(&t);
    m->npending++;
    oc_metric_add(&m_mirror_pending, 1);
    if (!m->inflight && !oc_timer_armed(&m->timer))
        oc_timer_start(th->loop, &m->timer, m->npending >= MIRROR_FULL ? 0 : MIRROR_DELAY_MS);
}

/* --- the expiry sweeper: one chunk of brands per tick ------------------------------------ */

OC_DB_STMT(sweep_tenants, 1,
           "SELECT set_config('app.tenant_id', coalesce(string_agg(id::text, ','), ''), true), max(id::text)"
           " FROM (SELECT id FROM brands WHERE id > $1::uuid ORDER BY id LIMIT 1000) b");
OC_DB_STMT(sweep_expire, 0, "SELECT holds_expire()");

static void on_swept(void *arg, const oc_db_result_t *res)
{
    mirror_t *m = arg;
    m->sweeping = 0;
    uint64_t next = 1000;
    if (res->err == NULL) {
        const char *last = oc_db_get(res->results[0], 0, 1);
        if (last != NULL)
            oc_strlcpy(m->sweep_cursor, last, strlen(last), sizeof(m->sweep_cursor));
        else
            strcpy(m->sweep_cursor, "00000000-0000-0000-0000-000000000000"), next = 1000;
        json_t *expired = oc_db_json(res->results[1], 0, 0);
        size_t i;
        json_t *e;
        json_array_foreach(expired, i, e)
        {
            oc_holds_release_redis(m->th, json_string_value(json_object_get(e, "tenant")),
                                   json_string_value(json_object_get(e, "id")), NULL, NULL);
        }
        oc_metric_add(&m_expired, (int64_t)json_array_size(expired));
        if (last != NULL)
            next = json_array_size(expired) > 0 ? 0 : 50; /* keep going through the brands */
        json_decref(expired);
    }
    oc_timer_start(m->th->loop, &m->sweep_timer, next);
}

static void sweep(oc_timer_t *t)
{
    mirror_t *m = t->data;
    if (m->sweeping)
        return;
    oc_db_tx_t tx = {.nsteps = 2};
    tx.steps[0].stmt = &sweep_tenants;
    tx.steps[0].params[0] = m->sweep_cursor;
    tx.steps[1].stmt = &sweep_expire;
    if (oc_db_run(m->th->db, &tx, on_swept, m) == 0)
        m->sweeping = 1;
    else
        oc_timer_start(m->th->loop, &m->sweep_timer, 1000);
}

void oc_holds_start_sweeper(oc_thread_t *th)
{
    mirror_t *m = mirror_of(th);
    strcpy(m->sweep_cursor, "00000000-0000-0000-0000-000000000000");
    oc_timer_start(th->loop, &m->sweep_timer, 1000);
}
