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
#include "server/common.h"
#include "server/config.h"
#include "tenants/identity.h"
#include "tenants/roles.h"

#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

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
        fprintf(stderr, "usage: onecount admin create-portfolio NAME\n");
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

int oc_admin_main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "create-portfolio") == 0)
        return create_portfolio(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "create-user") == 0)
        return create_user(argc - 1, argv + 1);
    fprintf(stderr, "usage: onecount admin create-portfolio NAME\n"
                    "       onecount admin create-user --portfolio ID --email E --name N [--role ROLE] [--brand ID]"
                    " [--password-stdin]\n");
    return 2;
}
