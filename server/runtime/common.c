/*
 * common.c — error strings, clocks and small helpers (see common.h).
 */
#include "runtime/common.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *oc_strerror(int code)
{
    switch (code) {
    case OC_OK: return "success";
    case OC_ENOMEM: return "out of memory";
    case OC_EINVAL: return "invalid argument";
    case OC_EBUSY: return "queue full";
    case OC_EUNAVAIL: return "service unavailable";
    case OC_ETIMEDOUT: return "timed out";
    case OC_ENOTFOUND: return "not found";
    case OC_ECONFLICT: return "conflict";
    case OC_EIO: return "i/o error";
    case OC_ECRYPTO: return "decryption failed";
    }
    return "unknown error";
}

uint64_t oc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t oc_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void oc_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[64];
    while (n > 0) {
        size_t chunk = n < sizeof(buf) ? n : sizeof(buf);
        randombytes_buf(buf, chunk);
        for (size_t i = 0; i < chunk; i++) {
            *out++ = hex[buf[i] >> 4];
            *out++ = hex[buf[i] & 15];
        }
        n -= chunk;
    }
    *out = '\0';
}

int oc_strieq(const char *s, size_t len, const char *lit)
{
    size_t l = strlen(lit);
    if (l != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)lit[i]))
            return 0;
    return 1;
}

void oc_strlcpy(char *dst, const char *src, size_t len, size_t cap)
{
    if (cap == 0)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void oc_uuid_v4(char out[37])
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    oc_uuid_format(raw, out);
}

void oc_uuid_format(unsigned char b[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

int oc_is_uuid(const char *s, size_t len)
{
    if (len != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

int oc_array_grow(void *items, size_t *cap, size_t len, size_t size, size_t first)
{
    if (len < *cap)
        return 0;
    void *old, *p;
    size_t n = *cap ? *cap * 2 : first;
    memcpy(&old, items, sizeof(old));
    if (n < *cap || n > SIZE_MAX / size)
        return OC_ENOMEM;
    p = oc_realloc(old, n * size);
    memcpy(items, &p, sizeof(p));
    *cap = n;
    return 0;
}

int oc_buf_append(oc_buf_t *b, const void *p, size_t len)
{
    if (len > SIZE_MAX / 2 - b->len - 1)
        return OC_ENOMEM;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->data = oc_realloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int oc_buf_printf(oc_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = oc_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int oc_buf_vprintf(oc_buf_t *b, const char *fmt, va_list ap)
{
    char small[512];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap), rc;
    if (n < 0) {
        rc = OC_EINVAL;
    } else if ((size_t)n < sizeof(small)) {
        rc = oc_buf_append(b, small, (size_t)n);
    } else {
        char *big = oc_malloc((size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, again);
        rc = oc_buf_append(b, big, (size_t)n);
        free(big);
    }
    va_end(again);
    return rc;
}

const char *oc_buf_cstr(oc_buf_t *b)
{
    if (b->data == NULL && oc_buf_append(b, "", 0) != 0)
        return "";
    return b->data;
}

void oc_buf_free(oc_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
