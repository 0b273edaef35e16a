/*
 * gunzip.h — reads gzip data (RFC 1952 members holding RFC 1951 deflate
 * streams): what Amazon's report documents are when compressionAlgorithm
 * is GZIP.  A small, bounded decoder (stored, fixed and dynamic Huffman
 * blocks), checked against each member's CRC-32 and length; no zlib.
 */
#ifndef OC_GUNZIP_H
#define OC_GUNZIP_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/common.h"

/**
 * Appends the decompressed bytes of every gzip member in `in` to `out`, at
 * most `max_out` bytes.  Returns 0, or -1 with the reason in `why` (not gzip,
 * truncated, corrupt, a checksum that does not match, larger than max_out,
 * out of memory); `out` may then hold part of the data.
 */
int oc_gunzip(const unsigned char *in, size_t len, oc_buf_t *out, size_t max_out, char *why, size_t cap);

/** The CRC-32 of gzip and zip (reflected 0xEDB88320), continued from `crc` (0 to start). */
uint32_t oc_crc32(uint32_t crc, const unsigned char *p, size_t len);

#endif
