/* ni_unsetenv: the variable leaves this process's own environment (what getenv reads) and that of a child started
   with envp NULL; bad names are refused. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
static void set_variable(const char* name, const char* value) { SetEnvironmentVariableA(name, value); }
static int is_set(const char* name) { return GetEnvironmentVariableA(name, NULL, 0) != 0; }
#  define BAD_NAME ERROR_INVALID_PARAMETER
#else
#  include <errno.h>
static void set_variable(const char* name, const char* value) { setenv(name, value, 1); }
static int is_set(const char* name) { return getenv(name) != NULL; }
#  define BAD_NAME EINVAL
#endif

static void unsetenv_removes(void)
{
    set_variable("NI_TEST_UNSET", "1");
    set_variable("NI_TEST_KEPT", "2");
    CHECK(is_set("NI_TEST_UNSET") && is_set("NI_TEST_KEPT"));
    CHECK_OK(ni_unsetenv("NI_TEST_UNSET"));
    CHECK(!is_set("NI_TEST_UNSET"));
    CHECK(is_set("NI_TEST_KEPT"));
    CHECK_OK(ni_unsetenv("NI_TEST_UNSET")); /* not there: no error */
    CHECK_OK(ni_unsetenv("NI_TEST_KEPT"));
}

static void unsetenv_bad_names(void)
{
    set_variable("NI_TEST_A", "1");
    CHECK_RC(ni_unsetenv(NULL), BAD_NAME);
    CHECK_RC(ni_unsetenv(""), BAD_NAME);
    CHECK_RC(ni_unsetenv("NI_TEST_A=1"), BAD_NAME);
    CHECK(is_set("NI_TEST_A"));
    CHECK_OK(ni_unsetenv("NI_TEST_A"));
}

#ifndef _WIN32
/* A child started with envp NULL gets this process's environment: without the variable once it is removed. */
static void unsetenv_reaches_children(void)
{
    set_variable("LISTEN_FDS", "2");
    CHECK_OK(ni_unsetenv("LISTEN_FDS"));
    const char* argv[] = { "/bin/sh", "-c", "echo \"${LISTEN_FDS-unset}\"", NULL };
    int32_t code = -1;
    char* text = ni_test_run(argv, NULL, NULL, NULL, 0, 0, &code);
    CHECK(text != NULL && strcmp(text, "unset\n") == 0);
    CHECK_INT(code, 0);
    free(text);
}
#endif

NI_TEST_MAIN(
    NI_TEST(unsetenv_removes),
    NI_TEST(unsetenv_bad_names),
    NI_TEST_POSIX(unsetenv_reaches_children))
