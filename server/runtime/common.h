/*
 * common.h — error codes, clocks and small helpers shared by every module.
 *
 * Functions in onecount return int: 0 on success, a negative OC_E* code on
 * failure; oc_strerror() names the code.  Asynchronous callbacks receive
 * `const char *err` instead (NULL = success).
 */
#ifndef OC_COMMON_H
#define OC_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/alloc.h"

enum {
    OC_OK = 0,
    OC_ENOMEM = -1,    /* a size too large to allocate (memory running out aborts: alloc.h) */
    OC_EINVAL = -2,    /* invalid argument or input */
    OC_EBUSY = -3,     /* a bounded queue is full */
    OC_EUNAVAIL = -4,  /* a dependency (PostgreSQL, Redis, channel) is down */
    OC_ETIMEDOUT = -5, /* an external call took too long */
    OC_ENOTFOUND = -6, /* no such object */
    OC_ECONFLICT = -7, /* state conflict (duplicate, in flight, insufficient stock) */
    OC_EIO = -8,       /* I/O or protocol error */
    OC_ECRYPTO = -9,   /* decryption or authentication failed */
};

/** Returns a static, lower-case description of an OC_E* code. */
const char *oc_strerror(int code);

/** Milliseconds since the Unix epoch (wall clock). */
uint64_t oc_now_ms(void);
/** Microseconds from a monotonic clock; only differences are meaningful. */
uint64_t oc_mono_us(void);

/** Writes `n` random bytes as 2n lower-case hex characters plus NUL into `out`. */
void oc_random_hex(char *out, size_t n);

/** Case-insensitive comparison of a (ptr, len) string with a NUL-terminated literal. */
int oc_strieq(const char *s, size_t len, const char *lit);

/** Copies at most cap-1 bytes of src (len bytes) into dst and NUL-terminates. */
void oc_strlcpy(char *dst, const char *src, size_t len, size_t cap);

/** Writes a random (version 4) UUID, lower-case, into out[37]. */
void oc_uuid_v4(char out[37]);
/**
 * Writes 16 bytes (random, or a hash's first 16: a derived key) as a UUID
 * shaped like version 4, lower-case, into out[37]; sets the version and
 * variant bits in `b` first.
 */
void oc_uuid_format(unsigned char b[16], char out[37]);

/** Returns 1 when `s` is a canonical lower-case UUID string (36 chars). */
int oc_is_uuid(const char *s, size_t len);

#define OC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OC_STRLIT(s)     (s), (sizeof(s) - 1)
#define OC_UNUSED        __attribute__((unused))
#define OC_PRINTF(f, a)  __attribute__((format(printf, f, a)))

/**
 * Makes room for element `len` of a growable array: when `len` reaches *cap,
 * reallocates *items (a pointer to the array's pointer, elements of `size`
 * bytes) to twice *cap, or to `first` elements when empty.  0, or OC_ENOMEM
 * with the array unchanged when the new size would overflow.
 */
int oc_array_grow(void *items, size_t *cap, size_t len, size_t size, size_t first);

/* A growable byte buffer.  Owned by whoever declares it; oc_buf_free() releases. */
typedef struct oc_buf {
    char *data;
    size_t len, cap;
} oc_buf_t;

/** Appends `len` bytes; returns 0, or OC_ENOMEM when the buffer would outgrow SIZE_MAX / 2. */
int oc_buf_append(oc_buf_t *b, const void *p, size_t len);
/** Appends a printf-formatted string; returns 0, OC_EINVAL for a bad format, or oc_buf_append's OC_ENOMEM. */
int oc_buf_printf(oc_buf_t *b, const char *fmt, ...) OC_PRINTF(2, 3);
/** oc_buf_printf with a va_list (which it consumes). */
int oc_buf_vprintf(oc_buf_t *b, const char *fmt, va_list ap) OC_PRINTF(2, 0);
/** Ensures data is NUL-terminated (not counted in len) and returns it. */
const char *oc_buf_cstr(oc_buf_t *b);
void oc_buf_free(oc_buf_t *b);

#endif
