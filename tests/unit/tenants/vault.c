/* Unit tests for tenants/vault.c: sealing binds brand, connection and purpose; rotation rewraps. */
#include "runtime/common.h"
#include "runtime/config.h"
#include "tenants/vault.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char A[] = "00000000-0000-4000-8000-00000000000a", B[] = "00000000-0000-4000-8000-00000000000b";
static const char C1[] = "10000000-0000-4000-8000-000000000001", C2[] = "10000000-0000-4000-8000-000000000002";

static unsigned char *bin(const char *b64, size_t *len)
{
    size_t cap = strlen(b64);
    unsigned char *out = malloc(cap);
    sodium_base642bin(out, cap, b64, strlen(b64), NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

int main(void)
{
    CHECK(sodium_init() >= 0);
    char dir[] = "/tmp/oc-vault-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof(path), "%s/master.key", dir);
    CHECK_INT(oc_vault_keygen(path), 0);
    CHECK_INT(oc_vault_keygen(path), OC_ECONFLICT); /* never overwrites */
    memset(&oc_config, 0, sizeof(oc_config));
    oc_config.master_key_file = path;
    CHECK_INT(oc_vault_init(), 0);
    CHECK_INT(oc_vault_current_version(), 1);

    /* A brand key, wrapped for brand A. */
    char *wrapped = NULL;
    int ver = 0;
    CHECK_INT(oc_vault_new_dek(A, &wrapped, &ver), 0);
    CHECK_INT(ver, 1);
    size_t wl = 0;
    unsigned char *w = bin(wrapped, &wl), dek[OC_VAULT_KEY_BYTES], dek2[OC_VAULT_KEY_BYTES];
    CHECK_INT(oc_vault_unwrap_dek(A, 1, w, wl, dek), 0);
    CHECK_INT(oc_vault_unwrap_dek(B, 1, w, wl, dek2), OC_ECRYPTO); /* bound to the brand */
    CHECK_INT(oc_vault_unwrap_dek(A, 2, w, wl, dek2), OC_ECRYPTO); /* unknown version */
    w[wl - 1] ^= 1;
    CHECK_INT(oc_vault_unwrap_dek(A, 1, w, wl, dek2), OC_ECRYPTO); /* tampered */
    w[wl - 1] ^= 1;

    /* A credential sealed for (A, C1, credentials) opens only there. */
    const char secret[] = "{\"access_token\":\"shpat_x\"}";
    char *sealed = oc_vault_seal(dek, A, C1, "credentials", secret, strlen(secret));
    CHECK(sealed != NULL);
    CHECK(strstr(sealed, "shpat") == NULL);
    size_t sl = 0, pl = 0;
    unsigned char *s = bin(sealed, &sl);
    char *plain = oc_vault_open(dek, A, C1, "credentials", s, sl, &pl);
    CHECK(plain != NULL && pl == strlen(secret) && memcmp(plain, secret, pl) == 0);
    oc_vault_free(plain, pl);
    CHECK(oc_vault_open(dek, B, C1, "credentials", s, sl, &pl) == NULL);
    CHECK(oc_vault_open(dek, A, C2, "credentials", s, sl, &pl) == NULL);
    CHECK(oc_vault_open(dek, A, C1, "webhook", s, sl, &pl) == NULL);
    s[sl / 2] ^= 0x40;
    CHECK(oc_vault_open(dek, A, C1, "credentials", s, sl, &pl) == NULL);
    s[sl / 2] ^= 0x40;
    CHECK(oc_vault_open(dek, A, C1, "credentials", s, 10, &pl) == NULL); /* truncated */

    /* Rotation: a new version, the same data key under it, the old still readable. */
    CHECK_INT(oc_vault_add_version(path), 2);
    CHECK_INT(oc_vault_current_version(), 2);
    char *rewrapped = NULL;
    int nv = 0;
    CHECK_INT(oc_vault_rewrap_dek(A, 1, w, wl, &rewrapped, &nv), 0);
    CHECK_INT(nv, 2);
    size_t rl = 0;
    unsigned char *rw = bin(rewrapped, &rl);
    CHECK_INT(oc_vault_unwrap_dek(A, 2, rw, rl, dek2), 0);
    CHECK(memcmp(dek, dek2, sizeof(dek)) == 0);
    CHECK_INT(oc_vault_unwrap_dek(A, 1, w, wl, dek2), 0);
    plain = oc_vault_open(dek2, A, C1, "credentials", s, sl, &pl);
    CHECK(plain != NULL);
    oc_vault_free(plain, pl);

    /* bytea text from PostgreSQL. */
    size_t bl = 0;
    unsigned char *b = oc_vault_bytea("\\x00ff10", &bl);
    CHECK(b != NULL && bl == 3 && b[1] == 0xff);
    free(b);
    CHECK(oc_vault_bytea("00ff", &bl) == NULL);

    /* Wiping JSON secrets. */
    json_t *j = json_pack("{s:s, s:[s]}", "a", "secret-one", "b", "secret-two");
    oc_vault_wipe_json(j);
    CHECK(1);

    free(wrapped);
    free(w);
    free(sealed);
    free(s);
    free(rewrapped);
    free(rw);
    unlink(path);
    rmdir(dir);
    return oc_test_report();
}
