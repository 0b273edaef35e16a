/* Unit tests for server/runtime/alloc.c: what the wrappers return, and that running out of memory aborts with one line.
 */
#include "runtime/alloc.h"
#include "test.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    oc_alloc_init();
    char *s = oc_strdup("onecount");
    CHECK_STR(s, "onecount");
    free(s);
    s = oc_strndup("onecount", 3);
    CHECK_STR(s, "one");
    free(s);
    s = oc_strndup("ab", 10);
    CHECK_STR(s, "ab");
    free(s);
    int *z = oc_calloc(4, sizeof(int));
    CHECK(z[0] == 0 && z[3] == 0);
    z = oc_realloc(z, 64 * sizeof(int));
    z[63] = 7;
    CHECK_INT(z[63], 7);
    free(z);
    void *p = oc_malloc(0); /* never NULL, even for nothing */
    CHECK(p != NULL);
    free(p);
    json_t *j = json_pack("{s:i}", "a", 1); /* jansson allocates through oc_malloc now */
    CHECK_INT(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);

    /* Out of memory: the child prints the fatal line and aborts.  (The path the wrappers take when the
     * C library returns NULL; called directly, since under ASan an impossible size is ASan's own report.) */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        oc_alloc_failed(12345);
        _exit(0);
    }
    close(fds[1]);
    char buf[256] = {0};
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(n > 0 && strstr(buf, "\"msg\":\"out of memory\",\"bytes\":12345") != NULL);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    return oc_test_report();
}
