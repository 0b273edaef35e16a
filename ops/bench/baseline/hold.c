/*
 * hold.c — the baseline the ledger benchmark puts onecount's holds beside:
 * h2o and Redis on the same evloop-per-thread layout, each request running
 * onecount's own hold script (tenants/holds.c, through the same asynchronous
 * Redis client) for a random brand × SKU, and nothing else: no
 * authentication, no body parsing, no SKU lookup, no commit into
 * PostgreSQL.  STACK.md's "Redis hold script through h2o" row, measured on
 * this machine.
 *
 *   bench_hold PORT THREADS REDIS_URL BRANDS SKUS
 *
 * At start it writes each brand × SKU's cached balance (10^9 units), so no
 * request needs PostgreSQL; keys use brands "bench-<n>", apart from
 * onecount's.
 */
#include "server/http.h"
#include "runtime/loop.h"
#include "runtime/redis.h"
#include "tenants/holds.h"

#include "baseline.h"

#include <stdio.h>

static int nbrands, nskus;
static const char *redis_url;
static __thread oc_thread_t *thread;
static __thread unsigned seed;

/* A request may go away (its client closed) before Redis answers. */
typedef struct pending {
    h2o_req_t *req;
    struct pending **ref; /* in the request's pool: cleared with it */
} pending_t;

static void on_req_gone(void *p)
{
    pending_t **ref = p;
    if (*ref != NULL)
        (*ref)->req = NULL;
}

static void on_reserved(void *arg, const oc_reserve_outcome_t *out)
{
    pending_t *p = arg;
    h2o_req_t *req = p->req;
    if (req != NULL) {
        *p->ref = NULL;
        static const char ok[] = "{\"state\":\"active\"}", no[] = "{\"error\":\"hold\"}";
        int good = out->result == OC_RESERVE_OK;
        req->res.status = good ? 201 : 503;
        req->res.reason = good ? "Created" : "Service Unavailable";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
        req->res.content_length = good ? sizeof(ok) - 1 : sizeof(no) - 1;
        h2o_send_inline(req, good ? ok : no, req->res.content_length);
    }
    free(p);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    char tenant[32], id[40];
    long long sku = 100001 + rand_r(&seed) % nskus, qty = 1;
    snprintf(tenant, sizeof(tenant), "bench-%d", (int)(rand_r(&seed) % nbrands));
    oc_uuid_v4(id);
    pending_t *p = malloc(sizeof(*p));
    p->req = req;
    p->ref = h2o_mem_alloc_shared(&req->pool, sizeof(*p->ref), on_req_gone);
    *p->ref = p;
    oc_holds_reserve(thread, tenant, id, &sku, &qty, 1, oc_now_ms() + 30000, on_reserved, p);
    return 0;
}

static void on_filled(void *arg, const char *err, redisReply *reply)
{
    (*(int *)arg)--;
}

static oc_redis_t *connect_redis(oc_loop_t *loop)
{
    oc_redis_t *r = oc_redis_create(loop, redis_url, 1000);
    for (int i = 0; i < 500 && r != NULL && !oc_redis_ready(r); i++)
        oc_loop_run_once(loop, 10);
    if (r == NULL || !oc_redis_ready(r)) {
        fprintf(stderr, "bench_hold: Redis not reachable at %s\n", redis_url);
        exit(1);
    }
    return r;
}

/* Every brand × SKU's cached balance and held units, as onecount's cache rebuild writes them. */
static void fill(void)
{
    oc_loop_t *loop = oc_loop_create();
    oc_redis_t *r = connect_redis(loop);
    int pending = 0;
    for (int b = 0; b < nbrands; b++)
        for (int s = 0; s < nskus; s++) {
            char kb[96], kh[96];
            snprintf(kb, sizeof(kb), "oc:{bench-%d}:b:%d", b, 100001 + s);
            snprintf(kh, sizeof(kh), "oc:{bench-%d}:h:%d", b, 100001 + s);
            const char *setb[] = {"SET", kb, "1 1000000000"}, *seth[] = {"SET", kh, "0"};
            pending += oc_redis_commandv(r, on_filled, &pending, 3, setb, NULL) == 0;
            pending += oc_redis_commandv(r, on_filled, &pending, 3, seth, NULL) == 0;
            while (pending > 1000)
                oc_loop_run_once(loop, 10);
        }
    while (pending > 0)
        oc_loop_run_once(loop, 10);
    oc_redis_destroy(r);
}

static void *run(void *arg)
{
    oc_thread_t th = {0};
    thread = &th;
    seed = (unsigned)(uintptr_t)arg * 7919u + 1;
    th.loop = oc_loop_create();
    th.redis = connect_redis(th.loop);
    baseline_accept(oc_loop_h2o(th.loop), &th.ctx, &th.accept_ctx);
    for (;;)
        oc_loop_run_once(th.loop, 1000);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_hold PORT THREADS REDIS_URL BRANDS SKUS\n");
        return 2;
    }
    int port = atoi(argv[1]), threads = atoi(argv[2]);
    redis_url = argv[3], nbrands = atoi(argv[4]), nskus = atoi(argv[5]);
    oc_holds_init();
    fill();
    if (baseline_listen(port, on_req) != 0)
        return 1;
    printf("ready\n");
    fflush(stdout);
    baseline_threads(threads, run);
    return 0;
}
