/*
 * router.c — compiling and matching the route table (see router.h).
 */
#include "server/router.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const perm_names[] = {"public", "authenticated", "read", "inventory", "channels", "manage", "admin"};

const char *oc_perm_name(oc_perm_t p)
{
    return (size_t)p < OC_ARRAY_SIZE(perm_names) ? perm_names[p] : "unknown";
}

void oc_router_init(void)
{
    oc_router_compile(oc_routes, oc_routes_count);
    for (size_t i = 0; i < oc_routes_count; i++) {
        oc_route_t *rt = &oc_routes[i];
        rt->metrics.route = rt->pattern;
        rt->metrics.method = rt->method;
        oc_metrics_register_route(&rt->metrics);
    }
}

void oc_router_compile(oc_route_t *routes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        oc_route_t *rt = &routes[i];
        if (rt->nsegs != 0)
            continue;
        const char *p = rt->pattern;
        while (*p == '/')
            p++;
        while (*p != '\0' && rt->nsegs < OC_MAX_SEGMENTS) {
            const char *e = strchr(p, '/');
            size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
            rt->segs[rt->nsegs] = oc_strndup(p, l);
            rt->names[rt->nsegs] = p[0] == '{' && l > 2 ? oc_strndup(p + 1, l - 2) : NULL;
            rt->nsegs++;
            p += l;
            while (*p == '/')
                p++;
        }
    }
}

oc_match_t oc_router_match(const oc_route_t *routes, size_t nroutes, const char *method, size_t mlen, const char *path,
                           size_t plen, const oc_route_t **route, oc_match_params_t *params, char *allow,
                           size_t allow_cap)
{
    /* Split the request path once. */
    const char *seg[OC_MAX_SEGMENTS + 1];
    size_t seglen[OC_MAX_SEGMENTS + 1];
    int n = 0;
    size_t i = 0;
    while (i < plen && path[i] == '/')
        i++;
    while (i < plen) {
        if (n > OC_MAX_SEGMENTS)
            return OC_MATCH_NONE;
        size_t s = i;
        while (i < plen && path[i] != '/')
            i++;
        seg[n] = path + s;
        seglen[n++] = i - s;
        if (i < plen)
            i++; /* one slash; an empty segment (//) never matches a pattern segment */
    }
    if (n > OC_MAX_SEGMENTS)
        return OC_MATCH_NONE;

    int path_matched = 0;
    size_t alen = 0;
    if (allow_cap > 0)
        allow[0] = '\0';
    for (size_t r = 0; r < nroutes; r++) {
        const oc_route_t *rt = &routes[r];
        if (rt->nsegs != n)
            continue;
        oc_match_params_t tmp = {0};
        int ok = 1;
        for (int k = 0; k < n && ok; k++) {
            const char *ps = rt->segs[k];
            if (ps[0] == '{') {
                if (seglen[k] == 0 || tmp.n == OC_MAX_PATH_PARAMS) {
                    ok = 0;
                    break;
                }
                tmp.p[tmp.n].name = rt->names[k];
                tmp.p[tmp.n].value = seg[k];
                tmp.p[tmp.n].len = seglen[k];
                tmp.n++;
            } else if (strlen(ps) != seglen[k] || memcmp(ps, seg[k], seglen[k]) != 0) {
                ok = 0;
            }
        }
        if (!ok)
            continue;
        if (strlen(rt->method) == mlen && memcmp(rt->method, method, mlen) == 0) {
            *route = rt;
            *params = tmp;
            return OC_MATCH_FOUND;
        }
        if (mlen == 4 && memcmp(method, "HEAD", 4) == 0 && strcmp(rt->method, "GET") == 0) {
            *route = rt;
            *params = tmp;
            return OC_MATCH_FOUND;
        }
        path_matched = 1;
        if (allow_cap > 0 && strstr(allow, rt->method) == NULL) {
            int w = snprintf(allow + alen, allow_cap - alen, "%s%s", alen ? ", " : "", rt->method);
            if (w > 0 && (size_t)w < allow_cap - alen)
                alen += (size_t)w;
        }
    }
    return path_matched ? OC_MATCH_BAD_METHOD : OC_MATCH_NONE;
}

json_t *oc_router_describe(void)
{
    static const char *const bodies[] = {"none", "json", "csv", "raw"};
    json_t *arr = json_array();
    for (size_t i = 0; i < oc_routes_count; i++) {
        const oc_route_t *rt = &oc_routes[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "method", rt->method, "pattern", rt->pattern,
                                             "perm", oc_perm_name(rt->perm), "body", bodies[rt->body], "summary",
                                             rt->summary ? rt->summary : ""));
    }
    return arr;
}
