/*
 * netaddr.h — client addresses behind reverse proxies.
 *
 * A request's client address is its peer's, unless the peer is one of the
 * configured trusted proxies (`trusted_proxies`, a list of CIDR blocks):
 * then it is the rightmost address of X-Forwarded-For that is not itself a
 * trusted proxy — what the proxy nearest to us saw.  Anything a client can
 * write (the left part of the header) is never believed past the first
 * untrusted hop.
 */
#ifndef OC_NETADDR_H
#define OC_NETADDR_H

#include <stddef.h>

#define OC_CIDR_MAX 64

typedef struct oc_cidr {
    int family; /* 4 or 6 */
    unsigned char addr[16];
    int bits;
} oc_cidr_t;

/**
 * Parses a list of CIDR blocks or plain addresses ("10.0.0.0/8, ::1"),
 * separated by commas and/or spaces, into out[max].  Returns how many, or
 * -1 with a message in err (naming the bad item).  An empty list is 0.
 */
int oc_cidr_parse_list(const char *s, oc_cidr_t *out, int max, char *err, size_t errlen);

/** 1 when the textual address `addr` lies in one of the n blocks (IPv4-mapped IPv6 counts as IPv4). */
int oc_cidr_match(const oc_cidr_t *list, int n, const char *addr);

/**
 * The client address of a request from `peer` carrying X-Forwarded-For `xff`
 * (NULL when absent; several headers joined by commas), given the trusted
 * proxies: written to out[cap], in canonical text form.
 */
void oc_client_addr(const oc_cidr_t *trusted, int n, const char *peer, const char *xff, char *out, size_t cap);

#endif
