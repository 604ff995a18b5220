/* The portable part of the test framework: checks, the runner, the temp dir and file helpers. */
#include "ni_test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  define NI_TEST_SEPARATOR "\\"
#else
#  define NI_TEST_SEPARATOR "/"
#endif

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
    CHECK(snprintf(out, NI_TEST_PATH_MAX, "%s" NI_TEST_SEPARATOR "%s", g_dir, name) < NI_TEST_PATH_MAX);
}

int ni_test_write_file(const char* path, const void* data, size_t size, int mode)
{
    FILE* f = ni_test_fopen(path, "wb", mode);
    if (f == NULL)
        return errno != 0 ? errno : -1;
    int error = fwrite(data, 1, size, f) == size ? 0 : -1;
    if (fclose(f) != 0 && error == 0)
        error = -1;
    return error;
}

char* ni_test_read_stream(FILE* f, size_t* size)
{
    size_t length = 0, capacity = 4096;
    char* data = malloc(capacity + 1);
    while (data != NULL)
    {
        length += fread(data + length, 1, capacity - length, f);
        if (length < capacity)
            break; /* the end, or an error (ferror below) */
        char* bigger = realloc(data, capacity * 2 + 1);
        if (bigger == NULL)
        {
            free(data);
            return NULL;
        }
        data = bigger;
        capacity *= 2;
    }
    if (data != NULL && ferror(f))
    {
        free(data);
        return NULL;
    }
    if (data != NULL)
    {
        data[length] = '\0'; /* so that text content can be used as a string */
        if (size != NULL)
            *size = length;
    }
    return data;
}

char* ni_test_read_file(const char* path, size_t* size)
{
    FILE* f = ni_test_fopen(path, "rb", 0);
    if (f == NULL)
        return NULL;
    char* data = ni_test_read_stream(f, size);
    fclose(f);
    return data;
}

int ni_test_file_equals(const char* path, const void* data, size_t size)
{
    size_t actual_size;
    char* actual = ni_test_read_file(path, &actual_size);
    int equal = actual != NULL && actual_size == size && memcmp(actual, data, size) == 0;
    free(actual);
    return equal;
}

int ni_test_main(int argc, char** argv, const struct ni_test_case* cases, size_t count)
{
    if (argc < 2)
    {
        fprintf(stderr, "usage: %s <child> [<case> [<emulator> [<emulator args>...]]]\n", argv[0]);
        return 2;
    }
    const char* only = argc > 2 ? argv[2] : NULL;
    size_t selected = 0;
    for (size_t i = 0; i < count; i++)
        selected += only == NULL || strcmp(cases[i].name, only) == 0;
    if (selected == 0)
    {
        fprintf(stderr, "%s: no case named \"%s\"\n", argv[0], only);
        return 2;
    }
    if (ni_test_platform_start(argv[1], argc > 3 ? argv + 3 : NULL, g_dir) != 0)
        return 2;

    for (size_t i = 0; i < count; i++)
    {
        if (only != NULL && strcmp(cases[i].name, only) != 0)
            continue;
        int failures = g_failures, skips = g_skips;
        int handles = ni_test_count_handles();
        printf("[ RUN  ] %s\n", cases[i].name);
        fflush(stdout);
        cases[i].run();
        int after = ni_test_count_handles();
        if (after != handles)
            ni_test_fail(__FILE__, __LINE__, "%s leaked: %d handles open before it, %d after", cases[i].name,
                         handles, after);
        ni_test_clean_dir(g_dir, 0);
        printf("[ %s ] %s\n", g_failures != failures ? "FAIL" : g_skips != skips ? "SKIP" : " OK ", cases[i].name);
        fflush(stdout);
    }
    ni_test_clean_dir(g_dir, 1);
    printf("%lu tests, %d failed checks, %d skipped checks\n", (unsigned long)selected, g_failures, g_skips);
    return g_failures != 0 ? 1 : g_skips != 0 ? NI_TEST_SKIPPED : 0;
}
