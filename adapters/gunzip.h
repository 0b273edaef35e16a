/*
 * gunzip.h — reads gzip data (RFC 1952): what Amazon's report documents are
 * when compressionAlgorithm is GZIP.  zlib does the inflating, checks each
 * member's header, CRC-32 and length; this wrapper adds what an untrusted
 * document needs around it: an output cap checked before any byte past it is
 * kept (a small document that inflates to gigabytes is refused early), the
 * loop over concatenated members with the zero padding some writers leave
 * after the last one, and one short reason for every refusal.
 */
#ifndef OC_GUNZIP_H
#define OC_GUNZIP_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/common.h"

/**
 * Appends the decompressed bytes of every gzip member in `in` to `out`, at
 * most `max_out` bytes.  After the last member only zero bytes may follow.
 * Returns 0, or -1 with the reason in `why` (not gzip, truncated, corrupt, a
 * checksum that does not match, larger than max_out, trailing bytes, out of
 * memory); `out` may then hold part of the data, never more than max_out
 * bytes of it.
 */
int oc_gunzip(const unsigned char *in, size_t len, oc_buf_t *out, size_t max_out, char *why, size_t cap);

/** The CRC-32 of gzip and zip (zlib's crc32), continued from `crc` (0 to start). */
uint32_t oc_crc32(uint32_t crc, const unsigned char *p, size_t len);

#endif
