/*
 * text.h — the one implementation of the small text mechanisms every layer
 * speaks: RFC 3339 times, percent-encoding and HTTP reason phrases.
 *
 * The server, the channel adapters and the simulators all call these, so
 * that a time or an escape is written and read the same way everywhere.
 * Pure functions: no allocation, no global state, any thread.
 */
#ifndef OC_TEXT_H
#define OC_TEXT_H

#include "runtime/common.h"

/* --- times ------------------------------------------------------------------------------ */

/** How oc_time_format writes a time (all UTC). */
typedef enum oc_time_style {
    OC_TIME_S = 0,      /* 2026-01-02T03:04:05Z */
    OC_TIME_MS = 1,     /* 2026-01-02T03:04:05.678Z */
    OC_TIME_OFFSET = 2, /* 2026-01-02T03:04:05+00:00 (Shopify's REST form) */
} oc_time_style_t;

/** Bytes oc_time_format needs for any style, NUL included (21 for OC_TIME_S, 25 for OC_TIME_MS). */
#define OC_TIME_LEN 26

/** Formats `ms` since the epoch as RFC 3339 UTC in `style` into `out` (OC_TIME_LEN bytes suffice). */
void oc_time_format(char *out, uint64_t ms, oc_time_style_t style);

/**
 * Parses an ISO-8601 / RFC 3339 time into ms since the epoch: a date
 * (YYYY-MM-DD, midnight UTC), or a date, 'T' (or 't' or a space) and
 * HH:MM[:SS][.fraction] (',' allowed; digits beyond milliseconds are
 * dropped), then 'Z', an offset (+HH, +HH:MM, +HHMM) or nothing (UTC).
 * Returns 0, or -1 (with *ms untouched) for NULL, trailing text, a field out
 * of range or a time before the epoch.
 */
int oc_time_parse(const char *s, uint64_t *ms);

/* --- percent-encoding (RFC 3986) --------------------------------------------------------- */

/**
 * Appends `s` percent-encoded: the unreserved characters (ALPHA, DIGIT,
 * "-._~") are kept, every other byte becomes %XX (upper-case hex).  Leaves
 * b->data non-NULL even for an empty `s`.  Returns 0 or OC_ENOMEM.
 */
int oc_percent_encode(oc_buf_t *b, const char *s);

/**
 * Percent-decodes `len` bytes of `src` into dst (capacity `cap`, NUL
 * included); with `plus`, '+' decodes to a space (form and query encoding).
 * Returns the decoded length, or -1 on a bad or truncated escape, an
 * escaped NUL byte, or when dst is too small.
 */
int oc_percent_decode(const char *src, size_t len, char *dst, size_t cap, int plus);

/* --- HTTP --------------------------------------------------------------------------------- */

/** The reason phrase of an HTTP status the project sends ("OK" for one it does not know). */
const char *oc_http_reason(int status);

#endif
