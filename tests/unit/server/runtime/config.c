/* Unit tests for server/runtime/config.c: defaults, bounds, enums, listen parsing, files. */
#include "runtime/config.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

static const char *env_names[16], *env_values[16];
static int env_n;

static const char *fake_getenv(const char *name)
{
    for (int i = 0; i < env_n; i++)
        if (strcmp(env_names[i], name) == 0)
            return env_values[i];
    return NULL;
}

static void setenv_fake(const char *n, const char *v)
{
    env_names[env_n] = n;
    env_values[env_n++] = v;
}

int main(void)
{
    oc_config_t c;
    char buf[16384];
    FILE *err;

    /* Defaults are valid and loopback. */
    env_n = 0;
    err = fmemopen(buf, sizeof(buf), "w");
    CHECK_INT(oc_config_load(&c, fake_getenv, err), 0);
    fclose(err);
    CHECK_STR(c.listen_host, "127.0.0.1");
    CHECK_INT(c.listen_port, 8080);
    CHECK_INT(c.threads, 0);
    CHECK_STR(c.log_level, "info");
    CHECK_STR(c.migrate_database_url, c.database_url); /* falls back */
    CHECK_STR(c.metrics_listen, "127.0.0.1:9464");
    oc_config_free(&c);

    /* Every bad value is reported, not just the first; secrets are never echoed. */
    env_n = 0;
    setenv_fake("ONECOUNT_THREADS", "999");
    setenv_fake("ONECOUNT_LOG_LEVEL", "loud");
    setenv_fake("ONECOUNT_LISTEN", "nowhere");
    setenv_fake("ONECOUNT_DB_POOL_SIZE", "4x");
    setenv_fake("ONECOUNT_MASTER_KEY", "sekrit-value");
    memset(buf, 0, sizeof(buf));
    err = fmemopen(buf, sizeof(buf), "w");
    CHECK_INT(oc_config_load(&c, fake_getenv, err), 4);
    fclose(err);
    CHECK(strstr(buf, "ONECOUNT_THREADS") != NULL && strstr(buf, "out of range 0..256") != NULL);
    CHECK(strstr(buf, "must be one of debug info warn error") != NULL);
    CHECK(strstr(buf, "ONECOUNT_LISTEN") != NULL);
    CHECK(strstr(buf, "ONECOUNT_DB_POOL_SIZE") != NULL && strstr(buf, "not an integer") != NULL);
    CHECK(strstr(buf, "sekrit") == NULL);
    oc_config_free(&c);

    /* Environment overrides; listen parsing including IPv6 and port 0. */
    env_n = 0;
    setenv_fake("ONECOUNT_LISTEN", "[::1]:0");
    setenv_fake("ONECOUNT_THREADS", "3");
    err = fmemopen(buf, sizeof(buf), "w");
    CHECK_INT(oc_config_load(&c, fake_getenv, err), 0);
    fclose(err);
    CHECK_STR(c.listen_host, "::1");
    CHECK_INT(c.listen_port, 0);
    CHECK_INT(c.threads, 3);
    oc_config_free(&c);

    /* Trusted proxies and the metrics listener are checked at start too. */
    env_n = 0;
    setenv_fake("ONECOUNT_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example");
    setenv_fake("ONECOUNT_METRICS_LISTEN", "everywhere");
    memset(buf, 0, sizeof(buf));
    err = fmemopen(buf, sizeof(buf), "w");
    CHECK_INT(oc_config_load(&c, fake_getenv, err), 2);
    fclose(err);
    CHECK(strstr(buf, "ONECOUNT_TRUSTED_PROXIES: \"proxy.example\" is not an address") != NULL);
    CHECK(strstr(buf, "ONECOUNT_METRICS_LISTEN = \"everywhere\": expected host:port or off") != NULL);
    oc_config_free(&c);
    env_n = 0;
    setenv_fake("ONECOUNT_METRICS_LISTEN", "off");
    err = fmemopen(buf, sizeof(buf), "w");
    CHECK_INT(oc_config_load(&c, fake_getenv, err), 0);
    fclose(err);
    CHECK_STR(c.metrics_listen, "off");
    CHECK_STR(c.trusted_proxies, "");
    oc_config_free(&c);

    char *host = NULL;
    int port = -1;
    CHECK_INT(oc_config_parse_listen("localhost:65536", &host, &port), -2);
    CHECK_INT(oc_config_parse_listen(":80", &host, &port), -2);
    CHECK_INT(oc_config_parse_listen("10.0.0.1:80", &host, &port), 0);
    CHECK_STR(host, "10.0.0.1");
    free(host);

    /* A config file: values apply, the environment still wins, unknown names are errors. */
    char path[] = "/tmp/oc-config-test-XXXXXX";
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "# comment\nthreads = 5\nlog_level = debug\n\nredis_url = redis://127.0.0.1:7000/2\n");
    fclose(fp);
    env_n = 0;
    setenv_fake("ONECOUNT_CONFIG_FILE", path);
    setenv_fake("ONECOUNT_LOG_LEVEL", "warn");
    err = fmemopen(buf, sizeof(buf), "w");
    CHECK_INT(oc_config_load(&c, fake_getenv, err), 0);
    fclose(err);
    CHECK_INT(c.threads, 5);
    CHECK_STR(c.log_level, "warn");
    CHECK_STR(c.redis_url, "redis://127.0.0.1:7000/2");
    oc_config_free(&c);
    fp = fopen(path, "w");
    fprintf(fp, "threadz = 5\nno equals sign\n");
    fclose(fp);
    memset(buf, 0, sizeof(buf));
    err = fmemopen(buf, sizeof(buf), "w");
    CHECK_INT(oc_config_load(&c, fake_getenv, err), 2);
    fclose(err);
    CHECK(strstr(buf, "unknown option \"threadz\"") != NULL);
    oc_config_free(&c);
    unlink(path);

    /* The help lists every option and never a secret's value. */
    memset(buf, 0, sizeof(buf));
    fp = fmemopen(buf, sizeof(buf), "w");
    oc_config_print_help(fp);
    fclose(fp);
    for (size_t i = 0; i < oc_config_options_count; i++)
        CHECK(strstr(buf, oc_config_options[i].env) != NULL);
    CHECK(strstr(buf, "onecount_app@") == NULL);
    return oc_test_report();
}
