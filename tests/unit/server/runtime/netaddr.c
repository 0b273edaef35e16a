/* Unit tests for server/runtime/netaddr.c: CIDR lists and the client address behind trusted proxies. */
#include "runtime/netaddr.h"
#include "test.h"

static const char *client(const oc_cidr_t *t, int n, const char *peer, const char *xff)
{
    static char out[64];
    oc_client_addr(t, n, peer, xff, out, sizeof(out));
    return out;
}

int main(void)
{
    oc_cidr_t l[OC_CIDR_MAX];
    char err[128];

    CHECK_INT(oc_cidr_parse_list("", l, OC_CIDR_MAX, err, sizeof(err)), 0);
    CHECK_INT(oc_cidr_parse_list(" , ", l, OC_CIDR_MAX, err, sizeof(err)), 0);
    CHECK_INT(oc_cidr_parse_list("10.0.0.0/8, 192.168.1.7 ::1/128,fd00::/8", l, OC_CIDR_MAX, err, sizeof(err)), 4);
    CHECK(oc_cidr_match(l, 4, "10.200.3.4"));
    CHECK(!oc_cidr_match(l, 4, "11.0.0.1"));
    CHECK(oc_cidr_match(l, 4, "192.168.1.7"));
    CHECK(!oc_cidr_match(l, 4, "192.168.1.8"));
    CHECK(oc_cidr_match(l, 4, "::1"));
    CHECK(oc_cidr_match(l, 4, "fd12::5"));
    CHECK(oc_cidr_match(l, 4, "::ffff:10.1.1.1")); /* IPv4-mapped counts as IPv4 */
    CHECK(!oc_cidr_match(l, 4, "junk"));
    CHECK_INT(oc_cidr_parse_list("10.0.0.0/33", l, OC_CIDR_MAX, err, sizeof(err)), -1);
    CHECK_STR(err, "\"10.0.0.0/33\" is not an address or CIDR block");
    CHECK_INT(oc_cidr_parse_list("10.0.0.0/", l, OC_CIDR_MAX, err, sizeof(err)), -1);
    CHECK_INT(oc_cidr_parse_list("10.0.0.0/8x", l, OC_CIDR_MAX, err, sizeof(err)), -1);
    CHECK_INT(oc_cidr_parse_list("example.com", l, OC_CIDR_MAX, err, sizeof(err)), -1);
    CHECK_INT(oc_cidr_parse_list("1.2.3.4/12, 0.0.0.0/0", l, 1, err, sizeof(err)), -1);
    CHECK_INT(oc_cidr_parse_list("10.1.0.0/17", l, OC_CIDR_MAX, err, sizeof(err)), 1);
    CHECK(oc_cidr_match(l, 1, "10.1.127.255"));
    CHECK(!oc_cidr_match(l, 1, "10.1.128.0"));

    /* No trusted proxies: the header is ignored. */
    CHECK_STR(client(l, 0, "127.0.0.1", "198.51.100.7"), "127.0.0.1");
    /* A trusted peer: the rightmost untrusted hop. */
    int n = oc_cidr_parse_list("127.0.0.1/32, 10.0.0.0/8", l, OC_CIDR_MAX, err, sizeof(err));
    CHECK_STR(client(l, n, "127.0.0.1", "198.51.100.7"), "198.51.100.7");
    CHECK_STR(client(l, n, "127.0.0.1", "1.1.1.1, 198.51.100.8"), "198.51.100.8");
    CHECK_STR(client(l, n, "127.0.0.1", "198.51.100.9, 10.2.3.4"), "198.51.100.9");
    CHECK_STR(client(l, n, "127.0.0.1", "198.51.100.9,10.2.3.4,  127.0.0.1"), "198.51.100.9");
    CHECK_STR(client(l, n, "127.0.0.1", "10.9.9.9, 10.2.3.4"), "10.9.9.9"); /* all trusted: the leftmost */
    CHECK_STR(client(l, n, "127.0.0.1", NULL), "127.0.0.1");
    CHECK_STR(client(l, n, "127.0.0.1", "not-an-address"), "127.0.0.1");
    CHECK_STR(client(l, n, "127.0.0.1", "198.51.100.1, junk, 10.1.1.1"), "10.1.1.1");
    CHECK_STR(client(l, n, "127.0.0.1", ""), "127.0.0.1");
    CHECK_STR(client(l, n, "127.0.0.1", "198.51.100.3:4711"), "198.51.100.3");
    CHECK_STR(client(l, n, "127.0.0.1", "[2001:db8::1]:443"), "2001:db8::1");
    CHECK_STR(client(l, n, "127.0.0.1", "2001:db8::2"), "2001:db8::2");
    CHECK_STR(client(l, n, "::ffff:127.0.0.1", "203.0.113.5"), "203.0.113.5");
    /* An untrusted peer cannot choose its address. */
    CHECK_STR(client(l, n, "127.0.0.2", "198.51.100.10"), "127.0.0.2");
    CHECK_STR(client(l, n, "203.0.113.1", "10.0.0.1"), "203.0.113.1");
    return oc_test_report();
}
