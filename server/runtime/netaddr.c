/*
 * netaddr.c — CIDR lists and X-Forwarded-For (see netaddr.h).
 */
#include "runtime/netaddr.h"
#include "runtime/common.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses one address (IPv4, IPv6, IPv4-mapped IPv6 as IPv4) into family/addr. */
static int parse_addr(const char *s, size_t len, int *family, unsigned char addr[16])
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, 12) == 0) {
            memmove(addr, addr + 12, 4);
            *family = 4;
        } else {
            *family = 6;
        }
        return 0;
    }
    return -1;
}

int oc_cidr_parse_list(const char *s, oc_cidr_t *out, int max, char *err, size_t errlen)
{
    int n = 0;
    for (const char *p = s; p != NULL && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        const char *end = p;
        while (*end && *end != ' ' && *end != ',' && *end != '\t')
            end++;
        size_t len = (size_t)(end - p);
        const char *slash = memchr(p, '/', len);
        oc_cidr_t c = {0};
        int bad = parse_addr(p, slash != NULL ? (size_t)(slash - p) : len, &c.family, c.addr) != 0;
        int maxbits = c.family == 4 ? 32 : 128;
        c.bits = maxbits;
        if (!bad && slash != NULL) {
            char *e;
            long b = strtol(slash + 1, &e, 10);
            bad = e != end || e == slash + 1 || b < 0 || b > maxbits;
            c.bits = (int)b;
        }
        if (bad || n == max) {
            snprintf(err, errlen, bad ? "\"%.*s\" is not an address or CIDR block" : "more than %d blocks",
                     bad ? (int)len : max, p);
            return -1;
        }
        out[n++] = c;
        p = end;
    }
    return n;
}

static int in_block(const oc_cidr_t *c, int family, const unsigned char addr[16])
{
    if (c->family != family)
        return 0;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

static int match(const oc_cidr_t *list, int n, int family, const unsigned char addr[16])
{
    for (int i = 0; i < n; i++)
        if (in_block(&list[i], family, addr))
            return 1;
    return 0;
}

int oc_cidr_match(const oc_cidr_t *list, int n, const char *addr)
{
    int family;
    unsigned char a[16];
    if (parse_addr(addr, strlen(addr), &family, a) != 0)
        return 0;
    return match(list, n, family, a);
}

static void format(int family, const unsigned char a[16], char *out, size_t cap)
{
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf)) == NULL)
        buf[0] = '\0';
    oc_strlcpy(out, buf, strlen(buf), cap);
}

/* One X-Forwarded-For element: an address, "[v6]", "[v6]:port" or "v4:port". */
static int parse_hop(const char *s, size_t len, int *family, unsigned char a[16])
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (rb == NULL)
            return -1;
        return parse_addr(s + 1, (size_t)(rb - s - 1), family, a);
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL)
        len = (size_t)(colon - s); /* v4:port */
    return parse_addr(s, len, family, a);
}

void oc_client_addr(const oc_cidr_t *trusted, int n, const char *peer, const char *xff, char *out, size_t cap)
{
    int family;
    unsigned char a[16];
    if (parse_addr(peer, strlen(peer), &family, a) != 0) {
        oc_strlcpy(out, peer, strlen(peer), cap);
        return;
    }
    /* Walk from the right while each hop is a trusted proxy; the first one
     * that is not is the client. A hop that is not an address ends the walk
     * at the last address known. */
    const char *end = xff != NULL ? xff + strlen(xff) : NULL;
    while (xff != NULL && match(trusted, n, family, a) && end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',')
            start--;
        int f;
        unsigned char h[16];
        if (parse_hop(start, (size_t)(end - start), &f, h) != 0)
            break;
        family = f;
        memcpy(a, h, sizeof(a));
        end = start > xff ? start - 1 : xff;
    }
    format(family, a, out, cap);
}
