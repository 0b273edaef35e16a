/*
 * vault.h — the credential vault: envelope encryption with libsodium.
 *
 * A key-encryption key (KEK) lives outside the database: in
 * ONECOUNT_MASTER_KEY (one key, version 1) or the key file
 * (ONECOUNT_MASTER_KEY_FILE, default <data_dir>/master.key), one
 * "<version> <base64 32-byte key>" line per version, the highest current.
 * Each brand has a random data key (DEK), stored in brand_keys wrapped by
 * the KEK with XChaCha20-Poly1305 and additional data naming the brand.
 * Each credential is sealed under its brand's DEK with additional data
 * naming brand, connection and purpose, so a ciphertext copied to another
 * brand or connection fails to open.
 *
 * Rotation (`onecount admin rotate-key`) appends a new KEK version and
 * rewraps every DEK; a process that meets a version it has not loaded
 * re-reads the key file, so servers keep working through a rotation.
 */
#ifndef OC_VAULT_H
#define OC_VAULT_H

#include <jansson.h>
#include <sodium.h>
#include <stddef.h>

#define OC_VAULT_KEY_BYTES 32

/** Loads the KEK(s) from the configuration; returns 0, or OC_ENOTFOUND when none is configured. */
int oc_vault_init(void);
/** 1 when a KEK is loaded. */
int oc_vault_ready(void);
/** The current KEK version (0 when none). */
int oc_vault_current_version(void);

/**
 * Creates a new DEK and its wrapped form for `tenant` under the current KEK:
 * `wrapped` gets base64 text (caller frees).  Returns 0 or an OC_E* code.
 */
int oc_vault_new_dek(const char *tenant, char **wrapped_b64, int *version);

/** Unwraps a brand's DEK.  Returns 0, or OC_ECRYPTO (wrong brand, tampered, unknown version). */
int oc_vault_unwrap_dek(const char *tenant, int version, const unsigned char *wrapped, size_t len,
                        unsigned char dek[OC_VAULT_KEY_BYTES]);
/** Rewraps a DEK under the current KEK (rotation). */
int oc_vault_rewrap_dek(const char *tenant, int version, const unsigned char *wrapped, size_t len, char **new_b64,
                        int *new_version);

/**
 * Seals `plaintext` for (tenant, connection, purpose) under `dek`; returns a
 * base64 string (caller frees).
 */
char *oc_vault_seal(const unsigned char dek[OC_VAULT_KEY_BYTES], const char *tenant, const char *connection,
                    const char *purpose, const char *plaintext, size_t len);

/**
 * Opens a sealed credential (raw bytes).  Returns a new NUL-terminated
 * plaintext buffer of *len bytes (caller wipes and frees: oc_vault_free), or
 * NULL when it does not open (wrong brand, connection, purpose, or tampered).
 */
char *oc_vault_open(const unsigned char dek[OC_VAULT_KEY_BYTES], const char *tenant, const char *connection,
                    const char *purpose, const unsigned char *sealed, size_t sealed_len, size_t *len);

/**
 * A value with a data key of its own (not a brand's): a fresh DEK wrapped by
 * the KEK with additional data naming `owner` (a row's id), the value sealed
 * under it for (owner, owner, purpose).  Fills *version and the base64
 * wrapped key and sealed value (caller frees).  Returns 0 or an OC_E* code.
 */
int oc_vault_seal_own(const char *owner, const char *purpose, const char *plain, size_t len, int *version,
                      char **wrapped_b64, char **sealed_b64);
/** Opens a value of oc_vault_seal_own (raw bytes); NULL when it does not open.  Free with oc_vault_free. */
char *oc_vault_open_own(const char *owner, const char *purpose, int version, const unsigned char *wrapped,
                        size_t wrapped_len, const unsigned char *sealed, size_t sealed_len, size_t *len);

/** Wipes and frees a plaintext from oc_vault_open. */
void oc_vault_free(char *plaintext, size_t len);

/** Overwrites every string inside `v` (secrets), then releases it. */
void oc_vault_wipe_json(json_t *v);

/** Writes a new key file with one random KEK (version 1); fails if the file exists.  For `admin keygen`. */
int oc_vault_keygen(const char *path);
/** Appends a new KEK version to the key file; returns the new version or a negative OC_E* code. */
int oc_vault_add_version(const char *path);

/** Decodes PostgreSQL bytea hex output ("\\x…") into a new buffer (caller frees). */
unsigned char *oc_vault_bytea(const char *hex, size_t *len);

#endif
