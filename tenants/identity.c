/*
 * identity.c — tokens and password hashing (see identity.h).
 */
#include "tenants/identity.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

void oc_token_new(const char *prefix, char *out)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    memcpy(out, prefix, 3);
    out[3] = '_';
    sodium_bin2base64(out + 4, 44, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

void oc_token_hash_hex(const char *token, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, len, md);
    sodium_bin2hex(out, 65, md, sizeof(md));
}

int oc_token_well_formed(const char *s, size_t len, const char *prefix)
{
    if (len != OC_TOKEN_LEN || memcmp(s, prefix, 3) != 0 || s[3] != '_')
        return 0;
    for (size_t i = 4; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int oc_password_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return OC_ENOMEM;
    return 0;
}

int oc_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

int oc_secure_streq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Compare over the longer length so timing depends on neither content. */
    size_t n = la > lb ? la : lb;
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < la ? (unsigned char)a[i] : 0, y = i < lb ? (unsigned char)b[i] : 0;
        diff |= x ^ y;
    }
    return diff == 0;
}

/* The hash checked for unknown users, so they cost what known users cost. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    char pw[33];
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(pw, sizeof(pw), raw, sizeof(raw));
    oc_password_hash(pw, dummy_hash);
}

void oc_identity_init(void)
{
    pthread_once(&dummy_once, make_dummy);
}

typedef struct {
    oc_work_t super;
    char *password;
    char *hash_in;
    char hash_out[crypto_pwhash_STRBYTES];
    int ok;
    int is_verify;
    oc_password_hash_cb hash_cb;
    oc_password_verify_cb verify_cb;
    void *arg;
} pw_work_t;

static void pw_run(oc_work_t *w)
{
    pw_work_t *p = (pw_work_t *)w;
    if (p->is_verify) {
        if (p->hash_in == NULL) {
            pthread_once(&dummy_once, make_dummy);
            (void)oc_password_verify(dummy_hash, p->password);
            p->ok = 0;
        } else {
            p->ok = oc_password_verify(p->hash_in, p->password);
        }
    } else {
        p->ok = oc_password_hash(p->password, p->hash_out) == 0;
    }
}

static void pw_done(oc_work_t *w)
{
    pw_work_t *p = (pw_work_t *)w;
    sodium_memzero(p->password, strlen(p->password));
    if (p->is_verify)
        p->verify_cb(p->arg, p->ok);
    else
        p->hash_cb(p->arg, p->ok ? p->hash_out : NULL);
    free(p->password);
    free(p->hash_in);
    free(p);
}

static void submit(oc_thread_t *th, pw_work_t *p)
{
    p->super.run = pw_run;
    p->super.done = pw_done;
    oc_work_submit(th->workpool, &th->work, &p->super);
}

void oc_password_hash_async(oc_thread_t *th, const char *password, oc_password_hash_cb cb, void *arg)
{
    pw_work_t *p = oc_calloc(1, sizeof(*p));
    p->password = oc_strdup(password);
    p->hash_cb = cb;
    p->arg = arg;
    submit(th, p);
}

void oc_password_verify_async(oc_thread_t *th, const char *hash, const char *password, oc_password_verify_cb cb,
                              void *arg)
{
    pw_work_t *p = oc_calloc(1, sizeof(*p));
    p->is_verify = 1;
    p->password = oc_strdup(password);
    p->hash_in = hash != NULL ? oc_strdup(hash) : NULL;
    p->verify_cb = cb;
    p->arg = arg;
    submit(th, p);
}
