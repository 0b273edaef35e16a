/*
 * gunzip.c — gzip documents through zlib (see gunzip.h).
 *
 * One z_stream reads every member: inflate() stops at each member's end
 * (Z_STREAM_END, its trailer checked) and inflateReset() starts the next.
 * Output goes through a small chunk whose size is cut to the room left under
 * the cap plus one byte, so the byte that would pass the cap is seen before
 * it is kept.
 */
#define ZLIB_CONST
#include "adapters/gunzip.h"

#include <limits.h>
#include <stdio.h>
#include <zlib.h>

/* Outcomes of our own, beside zlib's Z_* codes (which are 2 down to -6). */
enum { TRUNCATED = 100, TOO_LARGE, TRAILING };

uint32_t oc_crc32(uint32_t crc, const unsigned char *p, size_t len)
{
    return (uint32_t)crc32_z(crc, p, len);
}

/* Hands inflate the rest of the input; avail_in is an unsigned int, so at most UINT_MAX at a time. */
static void feed(z_stream *z, const unsigned char *in, size_t len)
{
    size_t left = len - (size_t)(z->next_in - in);
    z->avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
}

/* Inflates the member at z->next_in onto `out`, counting in `produced` (at most max_out).
 * Returns Z_STREAM_END when the member and its trailer check out, else why not. */
static int inflate_member(z_stream *z, const unsigned char *in, size_t len, oc_buf_t *out, size_t max_out,
                          size_t *produced)
{
    unsigned char chunk[16384];
    int rc;
    do {
        size_t room = max_out - *produced;
        feed(z, in, len);
        z->next_out = chunk;
        z->avail_out = room < sizeof(chunk) ? (uInt)room + 1 : (uInt)sizeof(chunk);
        rc = inflate(z, Z_NO_FLUSH);
        size_t got = (size_t)(z->next_out - chunk);
        if (got > room)
            return TOO_LARGE;
        if (got > 0 && oc_buf_append(out, chunk, got) != 0)
            return Z_MEM_ERROR;
        *produced += got;
    } while (rc == Z_OK);
    /* with room in the output, no progress means the input ended inside the member */
    return rc == Z_BUF_ERROR ? TRUNCATED : rc;
}

static int only_zeros(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static int is_gzip(const unsigned char *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static void reason(int rc, const z_stream *z, char *why, size_t cap)
{
    switch (rc) {
    case TRUNCATED: snprintf(why, cap, "gzip data: truncated"); break;
    case TOO_LARGE: snprintf(why, cap, "gzip data: larger than allowed"); break;
    case TRAILING: snprintf(why, cap, "trailing bytes after the gzip data"); break;
    case Z_MEM_ERROR: snprintf(why, cap, "gzip data: out of memory"); break;
    case Z_DATA_ERROR: /* zlib names it: "incorrect data check", "invalid block type", ... */
        snprintf(why, cap, "gzip data: %s", z->msg != NULL ? z->msg : "corrupt");
        break;
    default: snprintf(why, cap, "gzip data: corrupt (zlib error %d)", rc); break;
    }
}

int oc_gunzip(const unsigned char *in, size_t len, oc_buf_t *out, size_t max_out, char *why, size_t cap)
{
    if (!is_gzip(in, len)) {
        snprintf(why, cap, "not gzip data");
        return -1;
    }
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) { /* 16: gzip wrapper only, not zlib or raw */
        snprintf(why, cap, "gzip data: out of memory");
        return -1;
    }
    z.next_in = in;
    size_t produced = 0;
    int rc;
    while ((rc = inflate_member(&z, in, len, out, max_out, &produced)) == Z_STREAM_END) {
        size_t used = (size_t)(z.next_in - in);
        if (only_zeros(in + used, len - used)) { /* the end, or the padding some writers leave */
            rc = Z_OK;
            break;
        }
        if (!is_gzip(in + used, len - used)) {
            rc = TRAILING;
            break;
        }
        inflateReset(&z);
    }
    if (rc != Z_OK)
        reason(rc, &z, why, cap);
    inflateEnd(&z);
    return rc == Z_OK ? 0 : -1;
}
