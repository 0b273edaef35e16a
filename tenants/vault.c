/*
 * vault.c — envelope encryption of credentials (see vault.h).
 */
#include "tenants/vault.h"
#include "runtime/common.h"
#include "runtime/config.h"
#include "runtime/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_VERSIONS 64
#define NONCE        crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG          crypto_aead_xchacha20poly1305_ietf_ABYTES

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *keks[MAX_VERSIONS + 1]; /* sodium_malloc'd, by version */
static int current;
static char key_path[4096];

static int load_file_locked(void)
{
    if (key_path[0] == '\0')
        return OC_ENOTFOUND;
    FILE *fp = fopen(key_path, "r");
    if (fp == NULL)
        return OC_ENOTFOUND;
    char line[256];
    int loaded = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        int v;
        char b64[128];
        if (sscanf(line, "%d %127s", &v, b64) != 2 || v < 1 || v > MAX_VERSIONS)
            continue;
        unsigned char key[OC_VAULT_KEY_BYTES];
        size_t kl = 0;
        if (sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL, &kl, NULL, sodium_base64_VARIANT_ORIGINAL) !=
                0 ||
            kl != OC_VAULT_KEY_BYTES)
            continue;
        if (keks[v] == NULL)
            keks[v] = sodium_malloc(OC_VAULT_KEY_BYTES);
        memcpy(keks[v], key, OC_VAULT_KEY_BYTES);
        sodium_memzero(key, sizeof(key));
        if (v > current)
            current = v;
        loaded++;
    }
    sodium_memzero(line, sizeof(line));
    fclose(fp);
    return loaded > 0 ? 0 : OC_ENOTFOUND;
}

int oc_vault_init(void)
{
    pthread_mutex_lock(&mu);
    int rc = OC_ENOTFOUND;
    if (oc_config.master_key != NULL && oc_config.master_key[0] != '\0') {
        unsigned char key[OC_VAULT_KEY_BYTES];
        size_t kl = 0;
        const char *k = oc_config.master_key;
        if (sodium_base642bin(key, sizeof(key), k, strlen(k), NULL, &kl, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
            kl == OC_VAULT_KEY_BYTES) {
            keks[1] = sodium_malloc(OC_VAULT_KEY_BYTES);
            memcpy(keks[1], key, OC_VAULT_KEY_BYTES);
            current = 1;
            rc = 0;
        } else {
            oc_log_error("ONECOUNT_MASTER_KEY is not a base64 32-byte key");
        }
        sodium_memzero(key, sizeof(key));
    } else {
        if (oc_config.master_key_file != NULL && oc_config.master_key_file[0] != '\0')
            snprintf(key_path, sizeof(key_path), "%s", oc_config.master_key_file);
        else
            snprintf(key_path, sizeof(key_path), "%s/master.key", oc_config.data_dir);
        rc = load_file_locked();
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

int oc_vault_ready(void)
{
    pthread_mutex_lock(&mu);
    int r = current > 0;
    pthread_mutex_unlock(&mu);
    return r;
}

int oc_vault_current_version(void)
{
    pthread_mutex_lock(&mu);
    int v = current;
    pthread_mutex_unlock(&mu);
    return v;
}

/* Copies KEK `version` into out; reloads the key file once if unknown (a rotation elsewhere). */
static int kek(int version, unsigned char out[OC_VAULT_KEY_BYTES])
{
    if (version < 1 || version > MAX_VERSIONS)
        return OC_ECRYPTO;
    pthread_mutex_lock(&mu);
    if (keks[version] == NULL)
        load_file_locked();
    int rc = OC_ECRYPTO;
    if (keks[version] != NULL) {
        memcpy(out, keks[version], OC_VAULT_KEY_BYTES);
        rc = 0;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

static void ad_dek(char *out, size_t cap, const char *tenant)
{
    snprintf(out, cap, "oc1|dek|%s", tenant);
}

static char *b64(const unsigned char *bin, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = oc_malloc(cap);
    sodium_bin2base64(s, cap, bin, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

static int wrap(const char *tenant, const unsigned char dek[OC_VAULT_KEY_BYTES], char **out, int *version)
{
    unsigned char k[OC_VAULT_KEY_BYTES];
    int v = oc_vault_current_version();
    if (v == 0 || kek(v, k) != 0)
        return OC_EUNAVAIL;
    unsigned char buf[NONCE + OC_VAULT_KEY_BYTES + TAG];
    char ad[80];
    ad_dek(ad, sizeof(ad), tenant);
    randombytes_buf(buf, NONCE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + NONCE, &clen, dek, OC_VAULT_KEY_BYTES, (const unsigned char *)ad,
                                               strlen(ad), NULL, buf, k);
    sodium_memzero(k, sizeof(k));
    *out = b64(buf, NONCE + (size_t)clen);
    *version = v;
    return 0;
}

int oc_vault_new_dek(const char *tenant, char **wrapped_b64, int *version)
{
    unsigned char dek[OC_VAULT_KEY_BYTES];
    randombytes_buf(dek, sizeof(dek));
    int rc = wrap(tenant, dek, wrapped_b64, version);
    sodium_memzero(dek, sizeof(dek));
    return rc;
}

int oc_vault_unwrap_dek(const char *tenant, int version, const unsigned char *wrapped, size_t len,
                        unsigned char dek[OC_VAULT_KEY_BYTES])
{
    if (len != NONCE + OC_VAULT_KEY_BYTES + TAG)
        return OC_ECRYPTO;
    unsigned char k[OC_VAULT_KEY_BYTES];
    if (kek(version, k) != 0)
        return OC_ECRYPTO;
    char ad[80];
    ad_dek(ad, sizeof(ad), tenant);
    unsigned long long mlen = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(dek, &mlen, NULL, wrapped + NONCE, len - NONCE,
                                                        (const unsigned char *)ad, strlen(ad), wrapped, k);
    sodium_memzero(k, sizeof(k));
    return rc == 0 && mlen == OC_VAULT_KEY_BYTES ? 0 : OC_ECRYPTO;
}

int oc_vault_rewrap_dek(const char *tenant, int version, const unsigned char *wrapped, size_t len, char **new_b64,
                        int *new_version)
{
    unsigned char dek[OC_VAULT_KEY_BYTES];
    int rc = oc_vault_unwrap_dek(tenant, version, wrapped, len, dek);
    if (rc == 0)
        rc = wrap(tenant, dek, new_b64, new_version);
    sodium_memzero(dek, sizeof(dek));
    return rc;
}

static void ad_cred(char *out, size_t cap, const char *tenant, const char *conn, const char *purpose)
{
    snprintf(out, cap, "oc1|cred|%s|%s|%s", tenant, conn, purpose);
}

char *oc_vault_seal(const unsigned char dek[OC_VAULT_KEY_BYTES], const char *tenant, const char *connection,
                    const char *purpose, const char *plaintext, size_t len)
{
    unsigned char *buf = oc_malloc(NONCE + len + TAG);
    char ad[200];
    ad_cred(ad, sizeof(ad), tenant, connection, purpose);
    randombytes_buf(buf, NONCE);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(buf + NONCE, &clen, (const unsigned char *)plaintext, len,
                                               (const unsigned char *)ad, strlen(ad), NULL, buf, dek);
    char *s = b64(buf, NONCE + (size_t)clen);
    free(buf);
    return s;
}

char *oc_vault_open(const unsigned char dek[OC_VAULT_KEY_BYTES], const char *tenant, const char *connection,
                    const char *purpose, const unsigned char *sealed, size_t sealed_len, size_t *len)
{
    if (sealed_len < NONCE + TAG)
        return NULL;
    size_t cap = sealed_len - NONCE - TAG + 1;
    char *out = oc_malloc(cap);
    char ad[200];
    ad_cred(ad, sizeof(ad), tenant, connection, purpose);
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out, &mlen, NULL, sealed + NONCE,
                                                   sealed_len - NONCE, (const unsigned char *)ad, strlen(ad), sealed,
                                                   dek) != 0) {
        free(out);
        return NULL;
    }
    out[mlen] = '\0';
    *len = (size_t)mlen;
    return out;
}

void oc_vault_free(char *plaintext, size_t len)
{
    if (plaintext == NULL)
        return;
    sodium_memzero(plaintext, len);
    free(plaintext);
}

void oc_vault_wipe_json(json_t *v)
{
    if (v == NULL)
        return;
    if (json_is_string(v)) {
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            oc_vault_wipe_json(json_incref(x));
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            oc_vault_wipe_json(json_incref(x));
        }
    }
    json_decref(v);
}

static int write_key_line(const char *path, int version, int create)
{
    unsigned char key[OC_VAULT_KEY_BYTES];
    randombytes_buf(key, sizeof(key));
    char *s = b64(key, sizeof(key));
    sodium_memzero(key, sizeof(key));
    int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : O_APPEND), 0600);
    if (fd < 0) {
        sodium_memzero(s, strlen(s));
        free(s);
        return errno == EEXIST ? OC_ECONFLICT : OC_EIO;
    }
    char line[128];
    int n = snprintf(line, sizeof(line), "%d %s\n", version, s);
    sodium_memzero(s, strlen(s));
    free(s);
    int ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    sodium_memzero(line, sizeof(line));
    close(fd);
    return ok ? 0 : OC_EIO;
}

int oc_vault_keygen(const char *path)
{
    return write_key_line(path, 1, 1);
}

int oc_vault_add_version(const char *path)
{
    pthread_mutex_lock(&mu);
    snprintf(key_path, sizeof(key_path), "%s", path);
    load_file_locked();
    int v = current + 1;
    pthread_mutex_unlock(&mu);
    if (v > MAX_VERSIONS)
        return OC_EINVAL;
    int rc = write_key_line(path, v, 0);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&mu);
    load_file_locked();
    pthread_mutex_unlock(&mu);
    return v;
}

unsigned char *oc_vault_bytea(const char *hex, size_t *len)
{
    if (hex == NULL || hex[0] != '\\' || hex[1] != 'x')
        return NULL;
    size_t hl = strlen(hex + 2);
    unsigned char *out = oc_malloc(hl / 2 + 1);
    size_t bl = 0;
    if (sodium_hex2bin(out, hl / 2 + 1, hex + 2, hl, NULL, &bl, NULL) != 0) {
        free(out);
        return NULL;
    }
    *len = bl;
    return out;
}

/* --- values with a data key of their own (a webhook's signing secret, an invitation e-mail) --- */

int oc_vault_seal_own(const char *owner, const char *purpose, const char *plain, size_t len, int *version,
                      char **wrapped_b64, char **sealed_b64)
{
    *wrapped_b64 = *sealed_b64 = NULL;
    if (!oc_vault_ready())
        return OC_EUNAVAIL;
    unsigned char dek[OC_VAULT_KEY_BYTES];
    randombytes_buf(dek, sizeof(dek));
    int rc = wrap(owner, dek, wrapped_b64, version);
    if (rc == 0 && (*sealed_b64 = oc_vault_seal(dek, owner, owner, purpose, plain, len)) == NULL)
        rc = OC_ECRYPTO;
    sodium_memzero(dek, sizeof(dek));
    if (rc != 0) {
        free(*wrapped_b64);
        *wrapped_b64 = NULL;
    }
    return rc;
}

char *oc_vault_open_own(const char *owner, const char *purpose, int version, const unsigned char *wrapped,
                        size_t wrapped_len, const unsigned char *sealed, size_t sealed_len, size_t *len)
{
    unsigned char dek[OC_VAULT_KEY_BYTES];
    if (oc_vault_unwrap_dek(owner, version, wrapped, wrapped_len, dek) != 0)
        return NULL;
    char *plain = oc_vault_open(dek, owner, owner, purpose, sealed, sealed_len, len);
    sodium_memzero(dek, sizeof(dek));
    return plain;
}
