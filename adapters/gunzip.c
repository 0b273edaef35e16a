/*
 * gunzip.c — gzip members and deflate streams (see gunzip.h).
 *
 * The inflater follows RFC 1951 in the canonical-Huffman style of Mark
 * Adler's puff: codes are decoded bit by bit from per-length counts, which
 * is small and obviously bounded rather than fast; report documents are a
 * few megabytes at most.  Every read checks the input's end and every
 * back-reference checks what has been produced, so a malicious document
 * ends in an error, never out of bounds.
 */
#include "adapters/gunzip.h"

#include <stdio.h>
#include <string.h>

#define MAXBITS  15
#define MAXLCODE 286
#define MAXDCODE 30
#define FIXLCODE 288

enum { OK = 0, TRUNCATED, CORRUPT, TOO_LARGE, NO_MEMORY };

typedef struct {
    const unsigned char *in;
    size_t inlen, incnt;
    uint32_t bitbuf;
    int bitcnt;
    oc_buf_t *out;
    size_t start; /* where this member's output begins in out */
    size_t max;
    int err;
} inflate_t;

typedef struct {
    short count[MAXBITS + 1];
    short symbol[FIXLCODE];
} huff_t;

uint32_t oc_crc32(uint32_t crc, const unsigned char *p, size_t len)
{
    static uint32_t table[256];
    static int ready; /* benign race: every thread computes the same table */
    if (!ready) {
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = n;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        ready = 1;
    }
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static int bits(inflate_t *s, int need)
{
    uint64_t val = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->incnt == s->inlen) {
            s->err = TRUNCATED;
            return 0;
        }
        val |= (uint64_t)s->in[s->incnt++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = (uint32_t)(val >> need);
    s->bitcnt -= need;
    return (int)(val & ((1u << need) - 1));
}

static void put(inflate_t *s, const void *p, size_t n)
{
    if (s->out->len - s->start + n > s->max)
        s->err = TOO_LARGE;
    else if (oc_buf_append(s->out, p, n) != 0)
        s->err = NO_MEMORY;
}

static void stored(inflate_t *s)
{
    s->bitbuf = 0; /* a stored block starts on a byte boundary */
    s->bitcnt = 0;
    if (s->inlen - s->incnt < 4) {
        s->err = TRUNCATED;
        return;
    }
    unsigned len = s->in[s->incnt] | (unsigned)s->in[s->incnt + 1] << 8;
    unsigned nlen = s->in[s->incnt + 2] | (unsigned)s->in[s->incnt + 3] << 8;
    s->incnt += 4;
    if (len != (~nlen & 0xffffu)) {
        s->err = CORRUPT;
        return;
    }
    if (s->inlen - s->incnt < len) {
        s->err = TRUNCATED;
        return;
    }
    put(s, s->in + s->incnt, len);
    s->incnt += len;
}

static int decode(inflate_t *s, const huff_t *h)
{
    int code = 0, first = 0, index = 0;
    for (int len = 1; len <= MAXBITS; len++) {
        code |= bits(s, 1);
        if (s->err)
            return -1;
        int count = h->count[len];
        if (code - count < first)
            return h->symbol[index + (code - first)];
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    s->err = CORRUPT; /* ran out of codes */
    return -1;
}

/* Builds the decoding tables from code lengths; returns 0 for a complete code,
 * > 0 for an incomplete one, < 0 for an over-subscribed one. */
static int construct(huff_t *h, const short *length, int n)
{
    short offs[MAXBITS + 1];
    memset(h->count, 0, sizeof(h->count));
    for (int symbol = 0; symbol < n; symbol++)
        h->count[length[symbol]]++;
    if (h->count[0] == n)
        return 0; /* no codes: complete, but decoding fails */
    int left = 1;
    for (int len = 1; len <= MAXBITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0)
            return left;
    }
    offs[1] = 0;
    for (int len = 1; len < MAXBITS; len++)
        offs[len + 1] = (short)(offs[len] + h->count[len]);
    for (int symbol = 0; symbol < n; symbol++)
        if (length[symbol] != 0)
            h->symbol[offs[length[symbol]]++] = (short)symbol;
    return left;
}

static void codes(inflate_t *s, const huff_t *lencode, const huff_t *distcode)
{
    static const short lbase[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                   2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const short dbase[30] = {1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
                                    33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
                                    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                   6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
        int symbol = decode(s, lencode);
        if (s->err)
            return;
        if (symbol < 256) {
            unsigned char c = (unsigned char)symbol;
            put(s, &c, 1);
        } else if (symbol == 256) {
            return;
        } else {
            symbol -= 257;
            if (symbol >= 29) {
                s->err = CORRUPT;
                return;
            }
            size_t len = (size_t)(lbase[symbol] + bits(s, lext[symbol]));
            symbol = decode(s, distcode);
            if (s->err)
                return;
            if (symbol < 0 || symbol >= 30) {
                s->err = CORRUPT;
                return;
            }
            size_t dist = (size_t)(dbase[symbol] + bits(s, dext[symbol]));
            if (s->err)
                return;
            if (dist > s->out->len - s->start) {
                s->err = CORRUPT; /* refers before the start */
                return;
            }
            while (len-- > 0 && !s->err) {
                unsigned char c = (unsigned char)s->out->data[s->out->len - dist];
                put(s, &c, 1);
            }
        }
        if (s->err)
            return;
    }
}

static void fixed(inflate_t *s)
{
    static huff_t lencode, distcode;
    static int built; /* benign race: every thread builds the same tables */
    if (!built) {
        short lengths[FIXLCODE];
        int symbol = 0;
        for (; symbol < 144; symbol++)
            lengths[symbol] = 8;
        for (; symbol < 256; symbol++)
            lengths[symbol] = 9;
        for (; symbol < 280; symbol++)
            lengths[symbol] = 7;
        for (; symbol < FIXLCODE; symbol++)
            lengths[symbol] = 8;
        construct(&lencode, lengths, FIXLCODE);
        for (symbol = 0; symbol < MAXDCODE; symbol++)
            lengths[symbol] = 5;
        construct(&distcode, lengths, MAXDCODE);
        built = 1;
    }
    codes(s, &lencode, &distcode);
}

static void dynamic(inflate_t *s)
{
    static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    short lengths[MAXLCODE + MAXDCODE];
    huff_t lencode, distcode;
    int nlen = bits(s, 5) + 257, ndist = bits(s, 5) + 1, ncode = bits(s, 4) + 4;
    if (s->err)
        return;
    if (nlen > MAXLCODE || ndist > MAXDCODE) {
        s->err = CORRUPT;
        return;
    }
    int index = 0;
    for (; index < ncode; index++)
        lengths[order[index]] = (short)bits(s, 3);
    for (; index < 19; index++)
        lengths[order[index]] = 0;
    if (s->err)
        return;
    if (construct(&lencode, lengths, 19) != 0) {
        s->err = CORRUPT; /* the code-length code must be complete */
        return;
    }
    index = 0;
    while (index < nlen + ndist) {
        int symbol = decode(s, &lencode), len = 0;
        if (s->err)
            return;
        if (symbol < 16) {
            lengths[index++] = (short)symbol;
            continue;
        }
        if (symbol == 16) {
            if (index == 0) {
                s->err = CORRUPT;
                return;
            }
            len = lengths[index - 1];
            symbol = 3 + bits(s, 2);
        } else if (symbol == 17) {
            symbol = 3 + bits(s, 3);
        } else {
            symbol = 11 + bits(s, 7);
        }
        if (s->err)
            return;
        if (index + symbol > nlen + ndist) {
            s->err = CORRUPT;
            return;
        }
        while (symbol-- > 0)
            lengths[index++] = (short)len;
    }
    if (lengths[256] == 0) {
        s->err = CORRUPT; /* no end-of-block code */
        return;
    }
    int err = construct(&lencode, lengths, nlen);
    if (err < 0 || (err > 0 && nlen != lencode.count[0] + lencode.count[1])) {
        s->err = CORRUPT; /* an incomplete code is allowed only for a single length-1 code */
        return;
    }
    err = construct(&distcode, lengths + nlen, ndist);
    if (err < 0 || (err > 0 && ndist != distcode.count[0] + distcode.count[1])) {
        s->err = CORRUPT;
        return;
    }
    codes(s, &lencode, &distcode);
}

static const char *reason(int err)
{
    switch (err) {
    case TRUNCATED: return "truncated";
    case CORRUPT: return "corrupt deflate data";
    case TOO_LARGE: return "larger than allowed";
    case NO_MEMORY: return "out of memory";
    default: return "unknown error";
    }
}

int oc_gunzip(const unsigned char *in, size_t len, oc_buf_t *out, size_t max_out, char *why, size_t cap)
{
    size_t pos = 0;
    int members = 0;
    while (pos < len) {
        if (members > 0) { /* some writers pad the end with zeros */
            size_t z = pos;
            while (z < len && in[z] == 0)
                z++;
            if (z == len)
                break;
        }
        if (len - pos < 18 || in[pos] != 0x1f || in[pos + 1] != 0x8b || in[pos + 2] != 8) {
            snprintf(why, cap, members == 0 ? "not gzip data" : "trailing bytes after the gzip data");
            return -1;
        }
        unsigned flg = in[pos + 3];
        if (flg & 0xe0) {
            snprintf(why, cap, "gzip header: reserved flags set");
            return -1;
        }
        size_t p = pos + 10;
        if (flg & 4) { /* FEXTRA */
            if (len - p < 2 || len - p - 2 < (size_t)(in[p] | in[p + 1] << 8)) {
                snprintf(why, cap, "gzip header: truncated");
                return -1;
            }
            p += 2 + (size_t)(in[p] | in[p + 1] << 8);
        }
        for (unsigned f = 8; f <= 16; f <<= 1) /* FNAME, FCOMMENT: NUL-terminated */
            if (flg & f) {
                while (p < len && in[p] != 0)
                    p++;
                if (p == len) {
                    snprintf(why, cap, "gzip header: truncated");
                    return -1;
                }
                p++;
            }
        if (flg & 2) /* FHCRC */
            p += 2;
        if (p > len) {
            snprintf(why, cap, "gzip header: truncated");
            return -1;
        }
        inflate_t s = {.in = in, .inlen = len, .incnt = p, .out = out, .start = out->len, .max = max_out};
        if (out->len > max_out) {
            snprintf(why, cap, "larger than allowed");
            return -1;
        }
        s.max = max_out - out->len;
        int last;
        do {
            last = bits(&s, 1);
            int type = bits(&s, 2);
            if (s.err)
                break;
            if (type == 0)
                stored(&s);
            else if (type == 1)
                fixed(&s);
            else if (type == 2)
                dynamic(&s);
            else
                s.err = CORRUPT;
        } while (!last && !s.err);
        if (s.err) {
            snprintf(why, cap, "gzip data: %s", reason(s.err));
            return -1;
        }
        size_t t = s.incnt; /* the trailer starts at the next byte boundary */
        if (len - t < 8) {
            snprintf(why, cap, "gzip data: truncated");
            return -1;
        }
        uint32_t crc =
            (uint32_t)in[t] | (uint32_t)in[t + 1] << 8 | (uint32_t)in[t + 2] << 16 | (uint32_t)in[t + 3] << 24;
        uint32_t isize =
            (uint32_t)in[t + 4] | (uint32_t)in[t + 5] << 8 | (uint32_t)in[t + 6] << 16 | (uint32_t)in[t + 7] << 24;
        size_t produced = out->len - s.start;
        if (crc != oc_crc32(0, (const unsigned char *)out->data + s.start, produced) || isize != (uint32_t)produced) {
            snprintf(why, cap, "gzip data: checksum or length does not match");
            return -1;
        }
        pos = t + 8;
        members++;
    }
    if (members == 0) {
        snprintf(why, cap, "not gzip data");
        return -1;
    }
    return 0;
}
