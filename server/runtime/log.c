/*
 * log.c — JSON log lines (see log.h).
 */
#include "runtime/log.h"
#include "runtime/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static oc_log_level_t min_level = OC_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void oc_log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name != NULL && strcmp(name, level_names[i]) == 0)
            min_level = (oc_log_level_t)i;
}

int oc_log_enabled(oc_log_level_t level)
{
    return level >= min_level;
}

void oc_log_fields(oc_log_level_t level, const char *msg, json_t *fields)
{
    if (!oc_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    char ts[25];
    oc_time_format(ts, oc_now_ms(), OC_TIME_MS);
    json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "msg", msg);
    if (fields != NULL) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (s == NULL)
        return;
    size_t len = strlen(s);
    s[len] = '\n'; /* the NUL becomes the newline; s is written, not used as a string */
    ssize_t OC_UNUSED w = write(STDERR_FILENO, s, len + 1);
    free(s);
}

void oc_log(oc_log_level_t level, const char *fmt, ...)
{
    if (!oc_log_enabled(level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    oc_log_fields(level, msg, NULL);
}
