/* The portable core of the test framework: the checks, the runner and the roles a test program plays
   as a child. */
#include "ni_test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int g_failures;
static int g_skips;
static char g_dir[NI_TEST_PATH_MAX];

void ni_test_fail(const char* file, int line, const char* format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s:%d: FAILED: ", file, line);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    g_failures++;
}

int ni_test_check(int ok, const char* file, int line, const char* text)
{
    if (!ok)
        ni_test_fail(file, line, "%s", text);
    return ok;
}

int ni_test_check_int(long long actual, long long expected, const char* file, int line,
                      const char* actual_text, const char* expected_text)
{
    if (actual != expected)
        ni_test_fail(file, line, "%s is %lld, expected %s (%lld)", actual_text, actual, expected_text, expected);
    return actual == expected;
}

int ni_test_check_rc(int actual, int expected, const char* file, int line, const char* text)
{
    if (actual != expected)
    {
        /* The codes are errno or Win32/WSA values: only the library knows the platform's text. */
        char got[256], want[256];
        ni_error_message(actual, got, (int32_t)sizeof got);
        ni_error_message(expected, want, (int32_t)sizeof want);
        ni_test_fail(file, line, "%s returned %d (%s), expected %d (%s)", text, actual,
                     actual ? got : "success", expected, expected ? want : "success");
    }
    return actual == expected;
}

void ni_test_skip(const char* why)
{
    printf("  skipped: %s\n", why);
    g_skips++;
}

void ni_test_path(char out[NI_TEST_PATH_MAX], const char* name)
{
    ni_test_path_in(out, g_dir, name);
}

int ni_test_role(const char* role, int argc, char** argv)
{
    int code = ni_test_platform_role(role, argc, argv);
    if (code >= 0)
        return code;
    if (strcmp(role, "exit") == 0)
        return argc > 1 ? atoi(argv[1]) : 91;
    if (strcmp(role, "wait") == 0)
    {
        while (fgetc(stdin) != EOF)
        {
        }
        return 0;
    }
    if (strcmp(role, "argv") == 0)
    {
        for (int i = 1; i < argc; i++)
            printf("[%s]", argv[i]);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    fprintf(stderr, "%s: no role \"%s\"\n", argv[0], role);
    return 90;
}

/* Runs one case; its result printed as "[ OK ]", "[ FAIL ]" or "[ SKIP ]". */
static void run_case(const struct ni_test_case* c)
{
    int failures = g_failures, skips = g_skips;
    int handles = ni_test_count_handles();
    printf("[ RUN  ] %s\n", c->name);
    fflush(stdout);
    c->run();
    int after = ni_test_count_handles();
    if (after != handles)
        ni_test_fail(__FILE__, __LINE__, "%s leaked: %d handles open before it, %d after", c->name, handles, after);
    ni_test_clean_dir(g_dir, 0);
    printf("[ %s ] %s\n", g_failures != failures ? "FAIL" : g_skips != skips ? "SKIP" : " OK ", c->name);
    fflush(stdout);
}

int ni_test_main(int argc, char** argv, const struct ni_test_case* cases, size_t count)
{
    const char* role = getenv("NI_TEST_ROLE");
    if (role != NULL)
        return ni_test_role(role, argc, argv);
    if (argc < 2)
    {
        fprintf(stderr, "usage: %s <child> [<case> [<emulator> [<emulator args>...]]]\n", argv[0]);
        return 2;
    }
    const char* only = argc > 2 ? argv[2] : NULL;
    size_t selected = 0;
    for (size_t i = 0; i < count; i++)
        selected += cases[i].name != NULL && (only == NULL || strcmp(cases[i].name, only) == 0);
    if (selected == 0)
    {
        fprintf(stderr, "%s: no case named \"%s\" on this platform\n", argv[0], only != NULL ? only : "");
        return 2;
    }
    if (ni_test_platform_start(argv[0], argv[1], argc > 3 ? argv + 3 : NULL, g_dir) != 0)
        return 2;
    for (size_t i = 0; i < count; i++)
        if (cases[i].name != NULL && (only == NULL || strcmp(cases[i].name, only) == 0))
            run_case(&cases[i]);
    ni_test_clean_dir(g_dir, 1);
    printf("%lu tests, %d failed checks, %d skipped checks\n", (unsigned long)selected, g_failures, g_skips);
    return g_failures != 0 ? 1 : g_skips != 0 ? NI_TEST_SKIPPED : 0;
}
