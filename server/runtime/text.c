/*
 * text.c — RFC 3339 times, percent-encoding and HTTP reason phrases (see text.h).
 */
#include "runtime/text.h"

#include <stdio.h>
#include <time.h>

/* --- times ------------------------------------------------------------------------------ */

void oc_time_format(char *out, uint64_t ms, oc_time_style_t style)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
    if (style == OC_TIME_MS)
        snprintf(out + 19, 6, ".%03uZ", (unsigned)(ms % 1000));
    else if (style == OC_TIME_OFFSET)
        memcpy(out + 19, "+00:00", 7);
    else
        memcpy(out + 19, "Z", 2);
}

/* Reads exactly n decimal digits at s into *out; 0 or -1. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Reads a fraction of a second after '.' or ',' at *p into milliseconds; 0 or -1 (no digit). */
static int fraction(const char **p, int *ms)
{
    int n = 0, v = 0;
    const char *q = *p;
    while (*q >= '0' && *q <= '9') {
        if (n < 3)
            v = v * 10 + (*q - '0');
        n++;
        q++;
    }
    if (n == 0)
        return -1;
    for (; n < 3; n++)
        v *= 10;
    *p = q;
    *ms = v;
    return 0;
}

/* Reads 'Z', an offset (+HH, +HH:MM, +HHMM) or nothing at *p into seconds east of UTC; 0 or -1. */
static int zone(const char **p, long *offset_s)
{
    const char *q = *p;
    *offset_s = 0;
    if (*q == 'Z' || *q == 'z') {
        *p = q + 1;
        return 0;
    }
    if (*q != '+' && *q != '-')
        return 0;
    int oh, om = 0;
    if (digits(q + 1, 2, &oh) != 0)
        return -1;
    const char *m = q + 3;
    if (*m == ':')
        m++;
    if (*m != '\0') {
        if (digits(m, 2, &om) != 0)
            return -1;
        m += 2;
    }
    *offset_s = (oh * 3600L + om * 60L) * (*q == '-' ? -1 : 1);
    *p = m;
    return 0;
}

int oc_time_parse(const char *s, uint64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
    if (s == NULL || strlen(s) < 10 || digits(s, 4, &y) != 0 || s[4] != '-' || digits(s + 5, 2, &mo) != 0 ||
        s[7] != '-' || digits(s + 8, 2, &d) != 0)
        return -1;
    const char *p = s + 10;
    long offset_s = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        if (digits(p + 1, 2, &h) != 0 || p[3] != ':' || digits(p + 4, 2, &mi) != 0)
            return -1;
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &se) != 0)
                return -1;
            p += 3;
        }
        if (*p == '.' || *p == ',') {
            p++;
            if (fraction(&p, &frac) != 0)
                return -1;
        }
        if (zone(&p, &offset_s) != 0)
            return -1;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || (long long)t - offset_s < 0)
        return -1;
    *ms = (uint64_t)((long long)t - offset_s) * 1000 + (uint64_t)frac;
    return 0;
}

/* --- percent-encoding -------------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

int oc_percent_encode(oc_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        int keep = unreserved(*p);
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (oc_buf_append(b, keep ? (const char *)p : enc, keep ? 1 : 3) != 0)
            return OC_ENOMEM;
    }
    if (b->data == NULL && oc_buf_append(b, "", 0) != 0)
        return OC_ENOMEM;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int oc_percent_decode(const char *src, size_t len, char *dst, size_t cap, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval((unsigned char)src[i + 1]), lo = hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0 || (hi | lo) == 0)
                return -1;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (ch == '+' && plus) {
            ch = ' ';
        }
        if (o + 1 >= cap)
            return -1;
        dst[o++] = ch;
    }
    if (cap == 0)
        return -1;
    dst[o] = '\0';
    return (int)o;
}

/* --- HTTP --------------------------------------------------------------------------------- */

const char *oc_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    }
    return "OK";
}
