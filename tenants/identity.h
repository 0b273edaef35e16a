/*
 * identity.h — secrets that identify people and programs: passwords
 * (Argon2id), session and API tokens (random, stored as SHA-256).
 *
 * Password hashing and verification cost 40–60 ms of CPU and 64 MiB: they run
 * on the work pool, never on an event loop; the *_async functions take the
 * calling request's thread and call back on it.
 */
#ifndef OC_IDENTITY_H
#define OC_IDENTITY_H

#include <sodium.h>

#include "runtime/thread.h"

#define OC_TOKEN_LEN    47 /* 4-char prefix + 43 base64url characters */
#define OC_PASSWORD_MIN 10
#define OC_PASSWORD_MAX 256

/** Writes a new random token "<prefix>_<43 chars>" (prefix is 3 chars, e.g. "ocs") into out[OC_TOKEN_LEN + 1]. */
void oc_token_new(const char *prefix, char *out);

/** SHA-256 of the token as 64 lower-case hex characters (what the database stores, via decode(…, 'hex')). */
void oc_token_hash_hex(const char *token, size_t len, char out[65]);

/** Returns 1 when `s` has a token's shape (prefix, underscore, 43 base64url characters). */
int oc_token_well_formed(const char *s, size_t len, const char *prefix);

/** Argon2id hash (blocking; for the CLI and the work pool).  Returns 0 or OC_ENOMEM. */
int oc_password_hash(const char *password, char out[crypto_pwhash_STRBYTES]);
/** Verifies (blocking).  Returns 1 on a match. */
int oc_password_verify(const char *hash, const char *password);

/** Called on the request's loop thread; `hash` is NULL on failure. */
typedef void (*oc_password_hash_cb)(void *arg, const char *hash);
typedef void (*oc_password_verify_cb)(void *arg, int ok);

void oc_password_hash_async(oc_thread_t *th, const char *password, oc_password_hash_cb cb, void *arg);
/** Verifies against `hash`, or against a fixed dummy hash when `hash` is NULL (unknown user: same cost, always 0). */
void oc_password_verify_async(oc_thread_t *th, const char *hash, const char *password, oc_password_verify_cb cb,
                              void *arg);

/** Prepares the dummy hash used for unknown accounts (call once at start-up; blocking). */
void oc_identity_init(void);

/** Constant-time comparison of two strings of possibly different lengths. */
int oc_secure_streq(const char *a, const char *b);

#endif
