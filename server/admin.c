/*
 * admin.c — `onecount admin` (see admin.h).
 *
 *   create-portfolio NAME
 *   create-user --portfolio ID --email E --name N [--role ROLE] [--brand ID] [--password-stdin]
 *
 * Prints only the ids it creates.  A password comes from standard input
 * (--password-stdin) or ONECOUNT_ADMIN_PASSWORD; it is never printed.
 * Runs blocking libpq: this is a command, not the server.
 */
#include "server/admin.h"
#include "runtime/common.h"
#include "runtime/config.h"
#include "tenants/identity.h"
#include "tenants/roles.h"
#include "tenants/vault.h"

#include <fcntl.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static PGconn *connect_db(void)
{
    PGconn *pg = PQconnectdb(oc_config.database_url);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "admin: cannot connect to PostgreSQL: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

static int exec_params(PGconn *pg, const char *sql, int n, const char *const *params, char *out, size_t outcap)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fprintf(stderr, "admin: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    if (out != NULL && PQntuples(res) > 0)
        oc_strlcpy(out, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)), outcap);
    PQclear(res);
    return 0;
}

static int create_portfolio(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '\0') {
        fprintf(stderr, "usage: onecount admin keygen | rotate-key | retire-keys\n"
                        "       onecount admin create-portfolio NAME\n");
        return 2;
    }
    PGconn *pg = connect_db();
    if (pg == NULL)
        return 1;
    char id[64] = "";
    const char *p[1] = {argv[1]};
    int rc = exec_params(pg, "INSERT INTO portfolios (name) VALUES ($1) RETURNING id", 1, p, id, sizeof(id));
    PQfinish(pg);
    if (rc != 0)
        return 1;
    printf("%s\n", id);
    return 0;
}

static int read_password(int from_stdin, char *out, size_t cap)
{
    const char *env = getenv("ONECOUNT_ADMIN_PASSWORD");
    if (from_stdin) {
        if (fgets(out, (int)cap, stdin) == NULL)
            return -1;
        out[strcspn(out, "\r\n")] = '\0';
    } else if (env != NULL) {
        oc_strlcpy(out, env, strlen(env), cap);
    } else {
        return -1;
    }
    return 0;
}

static int create_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"portfolio", required_argument, NULL, 'p'},
        {"email", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},
        {"brand", required_argument, NULL, 'b'},
        {"password-stdin", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *portfolio = NULL, *email = NULL, *name = NULL, *role = "portfolio_admin", *brand = NULL;
    int from_stdin = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': portfolio = optarg; break;
        case 'e': email = optarg; break;
        case 'n': name = optarg; break;
        case 'r': role = optarg; break;
        case 'b': brand = optarg; break;
        case 's': from_stdin = 1; break;
        default: return 2;
        }
    }
    if (portfolio == NULL || email == NULL || name == NULL) {
        fprintf(stderr, "usage: onecount admin create-user --portfolio ID --email E --name N [--role ROLE]"
                        " [--brand ID] [--password-stdin]\n");
        return 2;
    }
    oc_role_t r = oc_role_parse(role);
    if (r == OC_ROLE_NONE || (r == OC_ROLE_PORTFOLIO_ADMIN) != (brand == NULL)) {
        fprintf(stderr,
                "admin: role must be portfolio_admin (no --brand) or viewer/operator/brand_owner with --brand\n");
        return 2;
    }
    char password[OC_PASSWORD_MAX + 2];
    if (read_password(from_stdin, password, sizeof(password)) != 0) {
        fprintf(stderr,
                "admin: give the password on standard input (--password-stdin) or in ONECOUNT_ADMIN_PASSWORD\n");
        return 2;
    }
    if (strlen(password) < OC_PASSWORD_MIN || strlen(password) > OC_PASSWORD_MAX) {
        fprintf(stderr, "admin: the password must be %d to %d characters\n", OC_PASSWORD_MIN, OC_PASSWORD_MAX);
        sodium_memzero(password, sizeof(password));
        return 2;
    }
    char hash[crypto_pwhash_STRBYTES];
    int hrc = oc_password_hash(password, hash);
    sodium_memzero(password, sizeof(password));
    if (hrc != 0) {
        fprintf(stderr, "admin: could not hash the password\n");
        return 1;
    }
    PGconn *pg = connect_db();
    if (pg == NULL)
        return 1;
    char id[64] = "";
    const char *p[] = {portfolio, email, name, hash, brand, role};
    int rc = exec_params(pg,
                         "WITH u AS (INSERT INTO users (portfolio_id, email, name, password_hash)"
                         "           VALUES ($1, $2, $3, $4) RETURNING id),"
                         " m AS (INSERT INTO memberships (user_id, portfolio_id, brand_id, role)"
                         "       SELECT id, $1, $5, $6 FROM u)"
                         " SELECT id FROM u",
                         6, p, id, sizeof(id));
    PQfinish(pg);
    if (rc != 0)
        return 1;
    printf("%s\n", id);
    return 0;
}

static const char *key_file(char *buf, size_t cap)
{
    if (oc_config.master_key_file != NULL && oc_config.master_key_file[0] != '\0')
        snprintf(buf, cap, "%s", oc_config.master_key_file);
    else
        snprintf(buf, cap, "%s/master.key", oc_config.data_dir);
    return buf;
}

/* Creates the key file with a new key-encryption key; never prints the key. */
static int keygen(void)
{
    char path[4096];
    key_file(path, sizeof(path));
    int rc = oc_vault_keygen(path);
    if (rc == OC_ECONFLICT) {
        fprintf(stderr, "admin: %s already exists; use rotate-key to add a new version\n", path);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "admin: cannot write %s: %s\n", path, oc_strerror(rc));
        return 1;
    }
    printf("wrote a new key-encryption key to %s (mode 600)\n", path);
    return 0;
}

/*
 * Data keys of their own (oc_vault_seal_own, migration 0034): a webhook endpoint's signing secret and a sealed
 * e-mail's text, each wrapped with additional data naming its row.  Rewraps those of `table` not under version
 * `ver`; returns how many, adding the ones that would not open to *failed.
 */
static int rewrap_own(PGconn *pg, const char *table, const char *ver, int *failed)
{
    char sql[256];
    snprintf(
        sql, sizeof(sql),
        "SELECT id::text, key_version, key_wrapped FROM %s WHERE key_wrapped IS NOT NULL AND key_version <> $1::int",
        table);
    const char *vp[1] = {ver};
    PGresult *rows = PQexecParams(pg, sql, 1, NULL, vp, NULL, NULL, 0);
    int done = 0;
    for (int i = 0; PQresultStatus(rows) == PGRES_TUPLES_OK && i < PQntuples(rows); i++) {
        const char *id = PQgetvalue(rows, i, 0);
        size_t wl = 0;
        unsigned char *w = oc_vault_bytea(PQgetvalue(rows, i, 2), &wl);
        char *nw = NULL;
        int nv = 0;
        if (w == NULL || oc_vault_rewrap_dek(id, atoi(PQgetvalue(rows, i, 1)), w, wl, &nw, &nv) != 0) {
            fprintf(stderr, "admin: %s %s: its data key does not open with the key file\n", table, id);
            (*failed)++;
            free(w);
            continue;
        }
        free(w);
        char nvs[16];
        snprintf(nvs, sizeof(nvs), "%d", nv);
        const char *up[4] = {id, nvs, nw, PQgetvalue(rows, i, 1)};
        snprintf(sql, sizeof(sql),
                 "UPDATE %s SET key_version = $2::int, key_wrapped = decode($3, 'base64')"
                 " WHERE id = $1::uuid AND key_version = $4::int",
                 table);
        PGresult *u = PQexecParams(pg, sql, 4, NULL, up, NULL, NULL, 0);
        if (PQresultStatus(u) == PGRES_COMMAND_OK)
            done += atoi(PQcmdTuples(u));
        else {
            fprintf(stderr, "admin: %s %s: %s", table, id, PQerrorMessage(pg));
            (*failed)++;
        }
        PQclear(u);
        free(nw);
    }
    PQclear(rows);
    return done;
}

/* Every brand's rows, a chunk of brands per transaction (row-level security
 * applies to this command too). */
static int rotate(void)
{
    char path[4096];
    key_file(path, sizeof(path));
    if (oc_config.master_key != NULL && oc_config.master_key[0] != '\0') {
        fprintf(stderr, "admin: rotation works on the key file; unset ONECOUNT_MASTER_KEY and use %s\n", path);
        return 2;
    }
    if (oc_vault_init() != 0) {
        fprintf(stderr, "admin: no key file at %s (create one with `onecount admin keygen`)\n", path);
        return 1;
    }
    int v = oc_vault_add_version(path);
    if (v < 0) {
        fprintf(stderr, "admin: cannot add a key version to %s: %s\n", path, oc_strerror(v));
        return 1;
    }
    PGconn *pg = connect_db();
    if (pg == NULL)
        return 1;
    int done = 0, failed = 0;
    char cursor[37] = "00000000-0000-0000-0000-000000000000", ver[16];
    snprintf(ver, sizeof(ver), "%d", v);
    for (;;) {
        PGresult *res = PQexec(pg, "BEGIN");
        PQclear(res);
        const char *cp[1] = {cursor};
        res = PQexecParams(pg,
                           "SELECT set_config('app.tenant_id', coalesce(string_agg(id::text, ','), ''), true),"
                           " max(id::text) FROM (SELECT id FROM brands WHERE id > $1::uuid ORDER BY id LIMIT 500) b",
                           1, NULL, cp, NULL, NULL, 0);
        const char *last =
            PQresultStatus(res) == PGRES_TUPLES_OK && !PQgetisnull(res, 0, 1) ? PQgetvalue(res, 0, 1) : NULL;
        if (last == NULL) {
            PQclear(res);
            PQclear(PQexec(pg, "COMMIT"));
            break;
        }
        oc_strlcpy(cursor, last, strlen(last), sizeof(cursor));
        PQclear(res);
        const char *vp[1] = {ver};
        PGresult *keys = PQexecParams(pg,
                                      "SELECT tenant_id::text, key_version, wrapped FROM brand_keys"
                                      " WHERE key_version <> $1::int",
                                      1, NULL, vp, NULL, NULL, 0);
        for (int i = 0; PQresultStatus(keys) == PGRES_TUPLES_OK && i < PQntuples(keys); i++) {
            const char *tenant = PQgetvalue(keys, i, 0);
            size_t wl = 0;
            unsigned char *w = oc_vault_bytea(PQgetvalue(keys, i, 2), &wl);
            char *nw = NULL;
            int nv = 0;
            if (w == NULL || oc_vault_rewrap_dek(tenant, atoi(PQgetvalue(keys, i, 1)), w, wl, &nw, &nv) != 0) {
                fprintf(stderr, "admin: brand %s: its data key does not open with the key file\n", tenant);
                failed++;
                free(w);
                continue;
            }
            free(w);
            char nvs[16];
            snprintf(nvs, sizeof(nvs), "%d", nv);
            const char *up[4] = {tenant, nvs, nw, PQgetvalue(keys, i, 1)};
            PGresult *u = PQexecParams(pg,
                                       "UPDATE brand_keys SET key_version = $2::int, wrapped = decode($3, 'base64'),"
                                       " rotated_at = now() WHERE tenant_id = $1::uuid AND key_version = $4::int",
                                       4, NULL, up, NULL, NULL, 0);
            if (PQresultStatus(u) == PGRES_COMMAND_OK)
                done += atoi(PQcmdTuples(u));
            PQclear(u);
            free(nw);
        }
        PQclear(keys);
        PQclear(PQexec(pg, "COMMIT"));
    }
    int own = rewrap_own(pg, "webhook_endpoints", ver, &failed) + rewrap_own(pg, "notify_outbox", ver, &failed);
    PQfinish(pg);
    printf("key version %d is current; rewrapped %d brand key%s and %d webhook secret or e-mail key%s", v, done,
           done == 1 ? "" : "s", own, own == 1 ? "" : "s");
    if (failed)
        printf("; %d could not be opened (see above)", failed);
    printf(".\nOlder versions stay in %s so running servers keep reading; remove them with"
           " `onecount admin retire-keys` once every server has restarted or reloaded.\n",
           path);
    return failed ? 1 : 0;
}

/* Rewrites the key file with only the current version, if no brand key still needs an older one. */
static int retire(void)
{
    char path[4096];
    key_file(path, sizeof(path));
    if (oc_vault_init() != 0) {
        fprintf(stderr, "admin: no key file at %s\n", path);
        return 1;
    }
    int v = oc_vault_current_version();
    PGconn *pg = connect_db();
    if (pg == NULL)
        return 1;
    PQclear(PQexec(pg, "BEGIN"));
    PQclear(PQexec(pg, "SELECT set_config('app.tenant_id', coalesce((SELECT string_agg(id::text, ',') FROM brands),"
                       " ''), true)"));
    char ver[16];
    snprintf(ver, sizeof(ver), "%d", v);
    const char *p[1] = {ver};
    PGresult *res =
        PQexecParams(pg, "SELECT count(*) FROM brand_keys WHERE key_version <> $1::int", 1, NULL, p, NULL, NULL, 0);
    long old = PQresultStatus(res) == PGRES_TUPLES_OK ? atol(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    /* and the data keys of their own (webhook secrets, sealed e-mail) */
    res =
        PQexecParams(pg,
                     "SELECT (SELECT count(*) FROM webhook_endpoints WHERE key_version <> $1::int)"
                     " + (SELECT count(*) FROM notify_outbox WHERE key_wrapped IS NOT NULL AND key_version <> $1::int)",
                     1, NULL, p, NULL, NULL, 0);
    if (old >= 0)
        old = PQresultStatus(res) == PGRES_TUPLES_OK ? old + atol(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    PQclear(PQexec(pg, "COMMIT"));
    PQfinish(pg);
    if (old != 0) {
        fprintf(stderr,
                "admin: %ld brand key(s), webhook secret(s) or e-mail key(s) still use an older version; run"
                " rotate-key first\n",
                old);
        return 1;
    }
    FILE *in = fopen(path, "r");
    char tmp[4200], line[256];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (in == NULL || out == NULL) {
        fprintf(stderr, "admin: cannot rewrite %s\n", path);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return 1;
    }
    while (fgets(line, sizeof(line), in) != NULL)
        if (atoi(line) == v)
            fputs(line, out);
    sodium_memzero(line, sizeof(line));
    fclose(in);
    fflush(out);
    fsync(fileno(out));
    fclose(out);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "admin: cannot replace %s\n", path);
        return 1;
    }
    printf("%s now holds only key version %d\n", path, v);
    return 0;
}

int oc_admin_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
        return keygen();
    if (argc >= 2 && strcmp(argv[1], "rotate-key") == 0)
        return rotate();
    if (argc >= 2 && strcmp(argv[1], "retire-keys") == 0)
        return retire();
    if (argc >= 2 && strcmp(argv[1], "create-portfolio") == 0)
        return create_portfolio(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "create-user") == 0)
        return create_user(argc - 1, argv + 1);
    fprintf(stderr, "usage: onecount admin keygen | rotate-key | retire-keys\n"
                    "       onecount admin create-portfolio NAME\n"
                    "       onecount admin create-user --portfolio ID --email E --name N [--role ROLE] [--brand ID]"
                    " [--password-stdin]\n");
    return 2;
}
