/*
 * auth.c — authentication middleware (see auth.h).
 *
 * Flow per request: credential → principal (cache or one pipelined query)
 * → CSRF for cookie writes → target brand/portfolio → role → permission →
 * handler.  The brand directory (brand → portfolio) is cached per thread too.
 *
 * Revocations hold before they are answered, in every process: a principal
 * is used only while it is younger than PRINCIPAL_TTL_US, counted from the
 * moment its lookup was sent (a cached entry, or a lookup still running that
 * a request joins: never one sent more than the TTL before the request
 * arrived); a revoking request answers PRINCIPAL_TTL_US after its commit
 * (oc_auth_answer_revoked).  Any principal read before that commit, by any
 * process, is then too old to be used for a request that comes after the
 * answer.  Within the process the epoch drops them at once.
 */
#include "server/auth.h"
#include "runtime/alloc.h"
#include "server/router.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "tenants/identity.h"
#include "tenants/roles.h"
#include "tenants/sessions.h"

#include <stdatomic.h>
#include <stdlib.h>

#define CACHE_SLOTS      1024
#define PRINCIPAL_TTL_US 500000    /* a principal: how long revocations wait for every process to forget it */
#define UNKNOWN_TTL_US   1000000   /* an unknown brand */
#define BRAND_TTL_US     600000000 /* a known brand: brands never move to another portfolio, nor go away */

static atomic_uint auth_epoch = 1;

void oc_auth_invalidate(void)
{
    atomic_fetch_add(&auth_epoch, 1);
}

/* What every cache entry starts with. */
typedef struct {
    char key[65]; /* token hash or brand id; "" = empty slot */
    uint64_t expires_us;
    unsigned epoch;
} slot_head_t;

typedef struct {
    slot_head_t h;
    oc_principal_t p;
    int nbrands;
    oc_brand_role_t *brands; /* malloc'd */
} principal_entry_t;

typedef struct {
    slot_head_t h;         /* key: the brand id */
    char portfolio_id[37]; /* "" = no such brand */
} brand_entry_t;

typedef void (*lookup_cb)(oc_req_t *r, const oc_db_result_t *res);

/* A principal or brand being looked up, and the requests waiting for it: a
 * burst of requests with one credential, or for one brand, makes one query,
 * not one each. */
typedef struct lookup {
    struct lookup *next;
    char key[65];
    lookup_cb cb; /* what each waiting request does with the answer */
    oc_thread_t *th;
    uint64_t sent_us; /* when the query was handed to the pool: the data is no older */
    unsigned epoch;   /* the epoch then */
    int nwaiting, cap;
    oc_req_t **waiting;
} lookup_t;

/* A revoking request waiting to be answered (oc_auth_answer_revoked). */
typedef struct revoked {
    struct revoked *next;
    oc_timer_t timer;
    oc_req_t *r;
    int status;
    json_t *body;
} revoked_t;

typedef struct {
    principal_entry_t principals[CACHE_SLOTS];
    brand_entry_t brands[CACHE_SLOTS];
    lookup_t *lookups;
    revoked_t *revoked;
} auth_cache_t;

static void revoked_answer(revoked_t *v)
{
    oc_respond_json(v->r, v->status, v->body);
    free(v);
}

static void cache_dispose(void *p)
{
    auth_cache_t *c = p;
    for (int i = 0; i < CACHE_SLOTS; i++)
        free(c->principals[i].brands);
    /* The thread is going: answer what still waits now. */
    while (c->revoked != NULL) {
        revoked_t *v = c->revoked;
        c->revoked = v->next;
        oc_timer_stop(v->r->thread->loop, &v->timer);
        revoked_answer(v);
    }
    free(c);
}

static auth_cache_t *cache_of(oc_thread_t *th)
{
    static const char slot;
    auth_cache_t *c = oc_thread_slot(th, &slot);
    if (c == NULL)
        c = oc_thread_set_slot(th, &slot, oc_calloc(1, sizeof(auth_cache_t)), cache_dispose);
    return c;
}

#define WAYS 4 /* a key may sit in any of the WAYS slots of its set: keys rarely push each other out */

static unsigned set_of(const char *key)
{
    unsigned h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return (h % (CACHE_SLOTS / WAYS)) * WAYS;
}

/*
 * The slot of `key` among the WAYS slots of its set in `slots` (entries
 * `stride` bytes apart), or NULL; with `fill`, the slot to (re)fill instead:
 * its own, else the free or first-expiring one.
 */
static void *slot_of(void *slots, size_t stride, const char *key, int fill)
{
    char *set = (char *)slots + (size_t)set_of(key) * stride;
    slot_head_t *v = NULL;
    for (int w = 0; w < WAYS; w++) {
        slot_head_t *h = (slot_head_t *)(set + (size_t)w * stride);
        if (strcmp(h->key, key) == 0)
            return h;
        if (fill && (v == NULL || h->expires_us < v->expires_us))
            v = h;
    }
    return v;
}

/* Marks `h` as holding `key`, read by the lookup `r` joined, until `ttl_us` after that lookup was sent. */
static void slot_claim(slot_head_t *h, const char *key, const oc_req_t *r, uint64_t ttl_us)
{
    oc_strlcpy(h->key, key, strlen(key), sizeof(h->key));
    h->epoch = r->authn.epoch;
    h->expires_us = r->authn.sent_us + ttl_us;
}

/* A live entry: filled in this epoch and not yet expired. */
static int slot_live(const slot_head_t *h)
{
    return h != NULL && h->epoch == atomic_load(&auth_epoch) && h->expires_us > oc_mono_us();
}

static void unauthenticated(oc_req_t *r, const char *message)
{
    oc_resp_header(r, "www-authenticate", "Bearer");
    oc_respond_error(r, 401, "unauthenticated", message, NULL);
}

static void not_found(oc_req_t *r, const char *what)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "no such %s", what);
    oc_respond_error(r, 404, "not_found", msg, NULL);
}

static void continue_with_principal(oc_req_t *r);

static oc_role_t min_role(oc_role_t a, oc_role_t b)
{
    return a < b ? a : b;
}

/* The user's own role on `brand_id` (for a token: its owner's, as it is now). */
static oc_role_t user_role_for_brand(const oc_principal_t *p, const char *brand_id)
{
    if (p->portfolio_role == OC_ROLE_PORTFOLIO_ADMIN)
        return OC_ROLE_PORTFOLIO_ADMIN;
    for (int i = 0; i < p->nbrands; i++)
        if (strcmp(p->brands[i].brand_id, brand_id) == 0)
            return p->brands[i].role;
    return OC_ROLE_NONE;
}

/* The user's own role over the portfolio: admin, else its best brand role, else NONE. */
static oc_role_t user_role_for_portfolio(const oc_principal_t *p)
{
    oc_role_t role = p->portfolio_role;
    for (int i = 0; role != OC_ROLE_PORTFOLIO_ADMIN && i < p->nbrands; i++)
        if (p->brands[i].role > role)
            role = p->brands[i].role;
    return role;
}

oc_role_t oc_auth_role_for_brand(const oc_req_t *r, const char *brand_id)
{
    const oc_principal_t *p = &r->auth;
    oc_role_t role = user_role_for_brand(p, brand_id);
    if (p->kind == OC_AUTH_TOKEN) {
        /* A token acts with its owner's current rights, never more than it was granted. */
        if (p->scope_brand[0] != '\0' && strcmp(p->scope_brand, brand_id) != 0)
            return OC_ROLE_NONE;
        role = min_role(role, p->token_role);
    }
    return role;
}

/* 0 when the token's owner no longer holds any role where the token acts. */
static int token_usable(const oc_principal_t *p)
{
    if (p->scope_brand[0] != '\0')
        return user_role_for_brand(p, p->scope_brand) != OC_ROLE_NONE;
    return user_role_for_portfolio(p) != OC_ROLE_NONE;
}

/* --- principal lookup ------------------------------------------------------- */

static void copy_brands_to_request(oc_req_t *r, const principal_entry_t *e)
{
    r->auth.nbrands = e->nbrands;
    r->auth.brands = NULL;
    if (e->nbrands > 0) {
        r->auth.brands = oc_req_alloc(r, sizeof(oc_brand_role_t) * (size_t)e->nbrands);
        memcpy(r->auth.brands, e->brands, sizeof(oc_brand_role_t) * (size_t)e->nbrands);
    }
}

static void on_lookup(void *arg, const oc_db_result_t *res)
{
    lookup_t *l = arg;
    auth_cache_t *c = cache_of(l->th);
    for (lookup_t **pp = &c->lookups; *pp != NULL; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            break;
        }
    /* The first fills the cache; the others read the same rows. */
    for (int i = 0; i < l->nwaiting; i++) {
        l->waiting[i]->authn.sent_us = l->sent_us;
        l->waiting[i]->authn.epoch = l->epoch;
        l->cb(l->waiting[i], res);
    }
    free(l->waiting);
    free(l);
}

/* 1 when `r` joined a lookup of `key` already running (it is answered then), else 0.
 * Only one sent in this epoch and less than the TTL before `r` arrived: its
 * rows may be older than a revocation answered before `r` came otherwise. */
static int lookup_join(oc_req_t *r, const char *key, lookup_cb cb)
{
    for (lookup_t *l = cache_of(r->thread)->lookups; l != NULL; l = l->next) {
        if (l->cb != cb || strcmp(l->key, key) != 0 || l->epoch != atomic_load(&auth_epoch) ||
            l->sent_us + PRINCIPAL_TTL_US <= r->start_us)
            continue;
        if (l->nwaiting == l->cap) {
            l->waiting = oc_realloc(l->waiting, sizeof(*l->waiting) * (size_t)l->cap * 2);
            l->cap *= 2;
        }
        l->waiting[l->nwaiting++] = r;
        return 1;
    }
    return 0;
}

/* Sends `r`'s query (tenants/sessions.h) for `key`, answered to on_lookup with `l`; 0 or OC_E*. */
typedef int (*lookup_query)(oc_req_t *r, const char *key, lookup_t *l);

static int principal_query(oc_req_t *r, const char *key, lookup_t *l)
{
    return oc_sessions_lookup(r->thread->db, key, r->authn.is_session, oc_config.session_idle_minutes, on_lookup, l);
}

static int brand_dir_query(oc_req_t *r, const char *key, lookup_t *l)
{
    return oc_sessions_brand_portfolio(r->thread->db, key, on_lookup, l);
}

/* Runs `query` for `r` as the lookup of `key` others may join; answers `r` itself if it cannot start. */
static void lookup_start(oc_req_t *r, const char *key, lookup_cb cb, lookup_query query)
{
    auth_cache_t *c = cache_of(r->thread);
    lookup_t *l = oc_calloc(1, sizeof(*l));
    l->waiting = oc_malloc(sizeof(*l->waiting) * 4);
    oc_strlcpy(l->key, key, strlen(key), sizeof(l->key));
    l->cb = cb;
    l->th = r->thread;
    l->epoch = atomic_load(&auth_epoch);
    l->sent_us = oc_mono_us();
    l->cap = 4;
    l->waiting[l->nwaiting++] = r;
    l->next = c->lookups;
    c->lookups = l;
    if (query(r, key, l) != 0) {
        c->lookups = l->next;
        free(l->waiting);
        free(l);
        oc_respond_unavailable(r, "the database");
    }
}

/* Caches the principal of `r`'s credential from its row (the columns: tenants/sessions.h, oc_sessions_lookup). */
static principal_entry_t *fill_principal(auth_cache_t *c, const oc_req_t *r, const PGresult *pr)
{
    principal_entry_t *e = slot_of(c->principals, sizeof(c->principals[0]), r->authn.key, 1);
    free(e->brands);
    memset(e, 0, sizeof(*e));
    slot_claim(&e->h, r->authn.key, r, PRINCIPAL_TTL_US);
    oc_principal_t *p = &e->p;
    oc_strlcpy(p->credential_id, PQgetvalue(pr, 0, 0), strlen(PQgetvalue(pr, 0, 0)), sizeof(p->credential_id));
    oc_strlcpy(p->user_id, PQgetvalue(pr, 0, 1), strlen(PQgetvalue(pr, 0, 1)), sizeof(p->user_id));
    oc_strlcpy(p->portfolio_id, PQgetvalue(pr, 0, 2), strlen(PQgetvalue(pr, 0, 2)), sizeof(p->portfolio_id));
    int memberships_col;
    if (r->authn.is_session) {
        p->kind = OC_AUTH_SESSION;
        oc_strlcpy(p->csrf, PQgetvalue(pr, 0, 3), strlen(PQgetvalue(pr, 0, 3)), sizeof(p->csrf));
        memberships_col = 4;
    } else {
        p->kind = OC_AUTH_TOKEN;
        const char *scope = oc_db_get(pr, 0, 3);
        if (scope != NULL)
            oc_strlcpy(p->scope_brand, scope, strlen(scope), sizeof(p->scope_brand));
        p->token_role = oc_role_parse(PQgetvalue(pr, 0, 4));
        memberships_col = 5;
    }
    /* The user's roles (a token's owner's): a token is capped by them. */
    json_t *arr = json_loads(PQgetvalue(pr, 0, memberships_col), 0, NULL);
    size_t n = json_array_size(arr);
    e->brands = n > 0 ? oc_calloc(n, sizeof(oc_brand_role_t)) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(arr, i);
        const char *bid = json_string_value(json_array_get(pair, 0));
        oc_role_t role = oc_role_parse(json_string_value(json_array_get(pair, 1)));
        if (bid == NULL) {
            if (role == OC_ROLE_PORTFOLIO_ADMIN)
                p->portfolio_role = OC_ROLE_PORTFOLIO_ADMIN;
            continue;
        }
        oc_strlcpy(e->brands[e->nbrands].brand_id, bid, strlen(bid), 37);
        e->brands[e->nbrands++].role = role;
    }
    json_decref(arr);
    return e;
}

static void on_principal(oc_req_t *r, const oc_db_result_t *res)
{
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const PGresult *pr = res->results[0];
    if (PQntuples(pr) != 1) {
        if (r->authn.is_session)
            oc_resp_header(r, "set-cookie", OC_SESSION_COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
        unauthenticated(r,
                        r->authn.is_session ? "session expired or invalid; sign in again" : "invalid or revoked token");
        return;
    }
    auth_cache_t *c = cache_of(r->thread);
    /* The first request of a joined lookup fills the entry; the others read it. */
    principal_entry_t *e = slot_of(c->principals, sizeof(c->principals[0]), r->authn.key, 0);
    if (!slot_live(e != NULL ? &e->h : NULL))
        e = fill_principal(c, r, pr);
    r->auth = e->p;
    copy_brands_to_request(r, e);
    continue_with_principal(r);
}

const char *oc_auth_cookie(oc_req_t *r, const char *name, size_t *len)
{
    const char *h = oc_req_header(r, "cookie");
    if (h == NULL)
        return NULL;
    size_t nl = strlen(name);
    for (const char *p = h; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        if (end == NULL)
            end = p + strlen(p);
        if ((size_t)(end - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
            *len = (size_t)(end - p - (ptrdiff_t)nl - 1);
            return p + nl + 1;
        }
        p = end;
    }
    return NULL;
}

void oc_auth_dispatch(oc_req_t *r)
{
    const char *authz = oc_req_header(r, "authorization"), *tok = NULL;
    size_t toklen = 0;
    if (authz != NULL) {
        if (strncasecmp(authz, "Bearer ", 7) != 0) {
            unauthenticated(r, "use Authorization: Bearer <token>");
            return;
        }
        tok = authz + 7;
        toklen = strlen(tok);
        if (!oc_token_well_formed(tok, toklen, "oct")) {
            unauthenticated(r, "invalid or revoked token");
            return;
        }
    } else if ((tok = oc_auth_cookie(r, OC_SESSION_COOKIE, &toklen)) != NULL) {
        r->authn.is_session = 1;
        if (!oc_token_well_formed(tok, toklen, "ocs")) {
            unauthenticated(r, "session expired or invalid; sign in again");
            return;
        }
    } else {
        unauthenticated(r, "authentication required");
        return;
    }
    oc_token_hash_hex(tok, toklen, r->authn.key);

    auth_cache_t *c = cache_of(r->thread);
    principal_entry_t *e = slot_of(c->principals, sizeof(c->principals[0]), r->authn.key, 0);
    if (slot_live(e != NULL ? &e->h : NULL)) {
        r->auth = e->p;
        copy_brands_to_request(r, e);
        continue_with_principal(r);
        return;
    }
    if (lookup_join(r, r->authn.key, on_principal))
        return;
    lookup_start(r, r->authn.key, on_principal, principal_query);
}

/* --- target resolution and the permission check ------------------------------ */

static void authorize(oc_req_t *r, oc_role_t role)
{
    r->auth.role = role;
    if (!oc_role_allows(role, r->route->perm)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "your role (%s) may not do this; it needs %s permission", oc_role_name(role),
                 oc_perm_name(r->route->perm));
        oc_respond_error(r, 403, "forbidden", msg, NULL);
        return;
    }
    r->route->handler(r);
}

static void resolve_brand_with_portfolio(oc_req_t *r, const char *bid, const char *portfolio)
{
    if (portfolio == NULL || portfolio[0] == '\0' || strcmp(portfolio, r->auth.portfolio_id) != 0) {
        not_found(r, "brand");
        return;
    }
    oc_role_t role = oc_auth_role_for_brand(r, bid);
    if (role == OC_ROLE_NONE) {
        not_found(r, "brand");
        return;
    }
    oc_strlcpy(r->tenant, bid, strlen(bid), sizeof(r->tenant));
    oc_strlcpy(r->portfolio, portfolio, strlen(portfolio), sizeof(r->portfolio));
    authorize(r, role);
}

static void on_brand_dir(oc_req_t *r, const oc_db_result_t *res)
{
    if (res->err != NULL) {
        oc_respond_db_error(r, res);
        return;
    }
    const char *bid = oc_req_param(r, "bid");
    const char *portfolio = oc_db_get(res->results[0], 0, 0);
    auth_cache_t *c = cache_of(r->thread);
    brand_entry_t *b = slot_of(c->brands, sizeof(c->brands[0]), bid, 1);
    slot_claim(&b->h, bid, r, portfolio != NULL ? BRAND_TTL_US : UNKNOWN_TTL_US);
    oc_strlcpy(b->portfolio_id, portfolio ? portfolio : "", portfolio ? strlen(portfolio) : 0, sizeof(b->portfolio_id));
    resolve_brand_with_portfolio(r, bid, portfolio);
}

static void continue_with_principal(oc_req_t *r)
{
    if (r->auth.kind == OC_AUTH_TOKEN && !token_usable(&r->auth)) {
        unauthenticated(r, "this token's owner no longer has access where it acts");
        return;
    }
    /* CSRF: a cookie-authenticated write must echo the session's token. */
    if (r->auth.kind == OC_AUTH_SESSION && strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        const char *sent = oc_req_header(r, "x-csrf-token");
        if (sent == NULL || !oc_secure_streq(sent, r->auth.csrf)) {
            oc_respond_error(r, 403, "csrf", "missing or wrong X-CSRF-Token header", NULL);
            return;
        }
    }
    const char *bid = oc_req_param(r, "bid"), *pid = oc_req_param(r, "pid");
    if (bid != NULL) {
        /* Quick refusals that need no lookup. */
        if (!oc_is_uuid(bid, strlen(bid)) || oc_auth_role_for_brand(r, bid) == OC_ROLE_NONE) {
            not_found(r, "brand");
            return;
        }
        auth_cache_t *c = cache_of(r->thread);
        brand_entry_t *b = slot_of(c->brands, sizeof(c->brands[0]), bid, 0);
        if (slot_live(b != NULL ? &b->h : NULL)) {
            resolve_brand_with_portfolio(r, bid, b->portfolio_id);
            return;
        }
        if (lookup_join(r, bid, on_brand_dir))
            return;
        lookup_start(r, bid, on_brand_dir, brand_dir_query);
        return;
    }
    oc_role_t own = user_role_for_portfolio(&r->auth);
    if (pid != NULL) {
        if (strcmp(pid, r->auth.portfolio_id) != 0) {
            not_found(r, "portfolio");
            return;
        }
        oc_strlcpy(r->portfolio, pid, strlen(pid), sizeof(r->portfolio));
        if (r->auth.kind == OC_AUTH_TOKEN) {
            if (r->auth.scope_brand[0] != '\0') {
                oc_respond_error(r, 403, "forbidden", "this token is scoped to one brand", NULL);
                return;
            }
            authorize(r, min_role(r->auth.token_role, own));
            return;
        }
        /* Non-admins act on the portfolio with their best brand role;
         * handlers narrow lists to the brands they hold. */
        authorize(r, own != OC_ROLE_NONE ? own : OC_ROLE_VIEWER);
        return;
    }
    if (own == OC_ROLE_NONE)
        own = OC_ROLE_VIEWER;
    authorize(r, r->auth.kind == OC_AUTH_TOKEN ? min_role(r->auth.token_role, own) : own);
}

/* --- revocations ---------------------------------------------------------------- */

static void on_revoked_due(oc_timer_t *t)
{
    revoked_t *v = t->data;
    auth_cache_t *c = cache_of(v->r->thread);
    for (revoked_t **pp = &c->revoked; *pp != NULL; pp = &(*pp)->next)
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    revoked_answer(v);
}

void oc_auth_answer_revoked(oc_req_t *r, int status, json_t *body)
{
    oc_auth_invalidate();
    revoked_t *v = oc_calloc(1, sizeof(*v));
    auth_cache_t *c = cache_of(r->thread);
    v->r = r;
    v->status = status;
    v->body = body;
    v->next = c->revoked;
    c->revoked = v;
    oc_timer_init(&v->timer, on_revoked_due, v);
    /* Every lookup sent before the commit is now older than the TTL when the
     * answer leaves (+1 ms: timers fire on whole milliseconds). */
    oc_timer_start(r->thread->loop, &v->timer, PRINCIPAL_TTL_US / 1000 + 1);
}
