/*
 * The pure text functions behind ni_spawn on Windows (native/src/windows/spawn_text.h), tested alone:
 * argv quoting against the system's own CommandLineToArgvW, the rewriting of passed handle values,
 * and the environment block's order and shape. They are compiled into this program (they are not
 * exported); test_spawn.c tests the same through real children. Windows only: every case is
 * NI_TEST_WINDOWS, so CMake builds this file nowhere else.
 */
#include "ni_test.h"
#include "spawn_text.h"

#include <shellapi.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static wchar_t* widen(const char* utf8)
{
    struct ni_wbuf b = { 0 };
    if (ni_wbuf_utf8(&b, utf8) != 0)
        ni_wbuf_free(&b);
    return b.data;
}

/* Prints UTF-16 text (a command line, a block with its NULs as '|') as UTF-8. */
static void show(const char* label, const wchar_t* text, size_t length)
{
    char utf8[4096];
    wchar_t copy[1024];
    size_t n = length < 1023 ? length : 1023;
    for (size_t i = 0; i < n; i++)
        copy[i] = text[i] == L'\0' ? L'|' : text[i];
    copy[n] = L'\0';
    if (WideCharToMultiByte(CP_UTF8, 0, copy, -1, utf8, sizeof utf8, NULL, NULL) == 0)
        snprintf(utf8, sizeof utf8, "(not convertible)");
    printf("  %s: %s\n", label, utf8);
}

/* Whether CommandLineToArgvW splits the line built for `argv` into exactly `argv` again. */
static int round_trips(const char* const* argv)
{
    struct ni_wbuf line = { 0 };
    if (!CHECK_OK(ni_win_command_line(argv, 0, NULL, 0, &line)))
        return 0;
    int argc = 0, ok = 1;
    LPWSTR* split = CommandLineToArgvW(line.data, &argc);
    size_t count = 0;
    while (argv[count] != NULL)
        count++;
    ok = split != NULL && argc == (int)count;
    for (size_t i = 0; ok && i < count; i++)
    {
        wchar_t* expected = widen(argv[i]);
        ok = expected != NULL && wcscmp(split[i], expected) == 0;
        free(expected);
    }
    if (!CHECK(ok))
    {
        show("line", line.data, line.length);
        for (int i = 0; split != NULL && i < argc; i++)
            show("split", split[i], wcslen(split[i]));
    }
    LocalFree(split);
    ni_wbuf_free(&line);
    return ok;
}

static void quoting_round_trips(void)
{
    static const char* const nasty[] = {
        "plain", "a b", "", " ", "  ", "\t", "tab\there", "new\nline", "v\vtab",
        "q\"uote", "\"", "\"\"", "\"quoted\"", "end\"",
        "back\\slash", "trail\\", "trail\\\\", "\\", "\\\\", "\\\"", "\\\\\"", "x\\\\\"y", "a b\\", "a b\\\\",
        "\\\\server\\share\\", "C:\\Program Files\\", "\"\\\"\\",
        "\xc3\xbcn\xc3\xaf", "\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e", "\xf0\x9f\x98\x80", "\xc2\xa0nbsp",
    };
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++)
    {
        /* alone, and among others, so that a quote or backslash cannot run into the next argument */
        const char* alone[] = { "prog", nasty[i], NULL };
        const char* among[] = { "prog", "before", nasty[i], nasty[i], "after", NULL };
        if (!round_trips(alone) | !round_trips(among))
            printf("  for argument %zu\n", i);
    }
    const char* all[sizeof nasty / sizeof nasty[0] + 2] = { "prog" };
    memcpy(all + 1, nasty, sizeof nasty);
    round_trips(all);
    const char* only_program[] = { "prog", NULL };
    round_trips(only_program);

    /* argv[0]: backslashes are literal there, so it is quoted, never escaped. */
    const char* programs[] = { "C:\\Program Files\\p.exe", "C:\\dir\\", "", "\xc3\xbc \xc3\xbc.exe", "tab\tbed" };
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++)
    {
        const char* argv[] = { programs[i], "x", NULL };
        round_trips(argv);
    }
}

/* The exact text for a few arguments, as Process.Start writes it. */
static void quoting_exact(void)
{
    static const struct { const char* argv[4]; const wchar_t* line; } cases[] = {
        { { "prog", "a b", "", NULL }, L"prog \"a b\" \"\"" },
        { { "C:\\Program Files\\p.exe", "x\\\"y", NULL }, L"\"C:\\Program Files\\p.exe\" \"x\\\\\\\"y\"" },
        { { "prog", "dir\\", "a b\\", NULL }, L"prog dir\\ \"a b\\\\\"" },
        { { "prog", "back\\\\slash", "\\\"", NULL }, L"prog back\\\\slash \"\\\\\\\"\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        struct ni_wbuf line = { 0 };
        if (CHECK_OK(ni_win_command_line(cases[i].argv, 0, NULL, 0, &line)) && !CHECK(wcscmp(line.data, cases[i].line) == 0))
        {
            show("got     ", line.data, line.length);
            show("expected", cases[i].line, wcslen(cases[i].line));
        }
        ni_wbuf_free(&line);
    }
}

/* Handle 0x12ab (4779) is passed as 0xac (172) in the child; 0x7ff8 as a value with all 20 digits. */
static const struct ni_passed_handle passed[] = {
    { 0x12ab, 0xac }, { 0x7ff8, (ni_handle)(intptr_t)-16 },
};
#define PASSED_COUNT (sizeof passed / sizeof passed[0])

static void check_rewrite(const char* text, const char* expected, int line)
{
    char out[32] = "untouched";
    int rewritten = ni_win_rewrite_value(text, strlen(text), passed, PASSED_COUNT, out);
    const char* got = rewritten ? out : NULL;
    int ok = expected == NULL ? !rewritten && strcmp(out, "untouched") == 0 : rewritten && strcmp(out, expected) == 0;
    if (!ni_test_check(ok, __FILE__, line, "rewrite"))
        printf("  \"%s\" became %s%s%s, expected %s%s%s\n", text, got ? "\"" : "", got ? got : "(not rewritten)",
               got ? "\"" : "", expected ? "\"" : "", expected ? expected : "(not rewritten)", expected ? "\"" : "");
}
#define REWRITES(text, expected) check_rewrite((text), (expected), __LINE__)
#define STAYS(text) check_rewrite((text), NULL, __LINE__)

static void values_are_rewritten(void)
{
    REWRITES("4779", "172");
    REWRITES("0x12ab", "0xac");
    REWRITES("0x12AB", "0xAC");  /* upper-case digits stay upper case */
    REWRITES("0X12ab", "0Xac");  /* and the 'X' stays */
    REWRITES("0x12aB", "0xAC");  /* any upper-case digit counts */
    REWRITES("0x012ab", "0xac"); /* leading zeros after 0x: still the value */
    REWRITES("0x00000000000012ab", "0xac"); /* 16 digits */
    REWRITES("32760", "18446744073709551600");
    REWRITES("0x7ff8", "0xfffffffffffffff0");
    STAYS("04779");  /* decimal with a leading zero: octal to strtol(..., 0), left alone */
    STAYS("4780");   /* not a passed handle */
    STAYS("0x12ac");
    STAYS("0x000000000000012ab"); /* 17 digits */
    STAYS("18446744073709556395"); /* 2^64 + 4779: too long to be a value, and it would wrap to one */
    STAYS("0x100000000000012ab");  /* the same in hex */
    STAYS("a4779"), STAYS("4779b"), STAYS("4779 "), STAYS(" 4779"), STAYS("-4779"), STAYS("+4779");
    STAYS("--handle=4779"), STAYS("4779,4779"), STAYS("0x12abg"), STAYS("x12ab"), STAYS("12ab");
    STAYS("0x"), STAYS("0X"), STAYS(""), STAYS("0"), STAYS("0x0");
    char out[32];
    CHECK_INT(ni_win_rewrite_value("4779", 4, passed, 0, out), 0); /* nothing passed, nothing rewritten */
    CHECK_INT(ni_win_rewrite_value("47790", 4, passed, PASSED_COUNT, out), 1); /* n bytes of the text */
}

static void check_line(const char* const* argv, int raw, const wchar_t* expected, int line)
{
    struct ni_wbuf text = { 0 };
    int ok = ni_win_command_line(argv, raw, passed, PASSED_COUNT, &text) == 0 && wcscmp(text.data, expected) == 0;
    if (!ni_test_check(ok, __FILE__, line, "command line"))
    {
        show("got     ", text.data != NULL ? text.data : L"(error)", text.data != NULL ? text.length : 7);
        show("expected", expected, wcslen(expected));
    }
    ni_wbuf_free(&text);
}

static void command_line_rewrites(void)
{
    /* Whole arguments only; argv[0] never. */
    const char* argv[] = { "4779", "4779", "0x12AB", "x4779", "a 4779", "04779", NULL };
    check_line(argv, 0, L"4779 172 0xAC x4779 \"a 4779\" 04779", __LINE__);
    /* Raw text: each run between blanks and quotes, as a whole argument would be. */
    const char* raw[] = { "p", "4779 \"0x12ab\" 4779x\t0X12AB \"a 4779\" -4779 4779", NULL };
    check_line(raw, 1, L"p 172 \"0xac\" 4779x\t0XAC \"a 172\" -4779 172", __LINE__);
    const char* empty_raw[] = { "p", "", NULL };
    check_line(empty_raw, 1, L"p", __LINE__);
    const char* no_raw[] = { "p", NULL };
    check_line(no_raw, 1, L"p", __LINE__);
    const char* spaced_raw[] = { "p", "  two  blanks ", NULL };
    check_line(spaced_raw, 1, L"p   two  blanks ", __LINE__); /* verbatim, blanks and all */
}

static void command_line_errors(void)
{
    const char* bad_program[] = { "p\xff", NULL };
    const char* bad_argument[] = { "p", "ok", "\xc3", NULL };
    const char* bad_raw[] = { "p", "a \xed\xa0\x80 b", NULL }; /* an encoded surrogate is no UTF-8 */
    struct ni_wbuf line = { 0 };
    CHECK_RC(ni_win_command_line(bad_program, 0, NULL, 0, &line), ERROR_NO_UNICODE_TRANSLATION);
    ni_wbuf_free(&line);
    CHECK_RC(ni_win_command_line(bad_argument, 0, NULL, 0, &line), ERROR_NO_UNICODE_TRANSLATION);
    ni_wbuf_free(&line);
    CHECK_RC(ni_win_command_line(bad_raw, 1, NULL, 0, &line), ERROR_NO_UNICODE_TRANSLATION);
    ni_wbuf_free(&line);
}

/* The block for `envp` must be `expected`: entries separated by '|' for NULs, the block's own NUL last. */
static void check_block(const char* const* envp, const wchar_t* expected, int line)
{
    struct ni_wbuf block = { 0 };
    size_t n = wcslen(expected);
    int ok = ni_win_environment_block(envp, &block) == 0 && block.length == n + 1 && block.data[n] == L'\0';
    for (size_t i = 0; ok && i < n; i++)
        ok = block.data[i] == (expected[i] == L'|' ? L'\0' : expected[i]);
    if (!ni_test_check(ok, __FILE__, line, "environment block"))
    {
        show("got     ", block.data != NULL ? block.data : L"(error)", block.data != NULL ? block.length : 7);
        show("expected", expected, n);
    }
    ni_wbuf_free(&block);
}

static void environment_block_order(void)
{
    /* By name as uppercase code units: '=' (0x3D) before letters, '_' (0x5F) after them. */
    const char* envp[] = { "zeta=1", "b=2", "A=3", "_under=4", "Alpha=5", "=D:=D:\\", "=C:=C:\\x", "a=6", NULL };
    const char* before[sizeof envp / sizeof envp[0]];
    memcpy(before, envp, sizeof envp);
    check_block(envp, L"=C:=C:\\x|=D:=D:\\|A=3|a=6|Alpha=5|b=2|zeta=1|_under=4|", __LINE__);
    CHECK(memcmp(before, envp, sizeof envp) == 0); /* the caller's array is left as it was */

    /* The name alone decides: "A" before "A!" although '!' sorts before '='. */
    const char* by_name[] = { "A!=1", "A=2", NULL };
    check_block(by_name, L"A=2|A!=1|", __LINE__);
    /* Equal names (case-insensitively) keep the caller's order, in both directions. */
    const char* same[] = { "path=1", "PATH=2", "Path=3", NULL };
    check_block(same, L"path=1|PATH=2|Path=3|", __LINE__);
    const char* same_reversed[] = { "Path=3", "PATH=2", "path=1", NULL };
    check_block(same_reversed, L"Path=3|PATH=2|path=1|", __LINE__);
    /* Beyond ASCII: 'ü' and 'Ü' are one name; 'É' (0xC9) sorts after 'Z'. */
    const char* unicode[] = { "\xc3\xa9t\xc3\xa9=1", "\xc3\xbc=2", "z=3", "\xc3\x9c=4", NULL };
    check_block(unicode, L"z=3|\x00e9t\x00e9=1|\x00fc=2|\x00dc=4|", __LINE__);
    /* No '=' at all: the whole entry is the name. */
    const char* bare[] = { "B", "A=1", NULL };
    check_block(bare, L"A=1|B|", __LINE__);
}

static void environment_block_edges(void)
{
    const char* none[] = { NULL };
    check_block(none, L"|", __LINE__); /* two NULs */
    const char* one[] = { "X=", NULL };
    check_block(one, L"X=|", __LINE__);

    struct ni_wbuf block = { 0 };
    const char* empty_entry[] = { "A=1", "", "B=2", NULL };
    CHECK_RC(ni_win_environment_block(empty_entry, &block), ERROR_INVALID_PARAMETER);
    ni_wbuf_free(&block);
    const char* bad_utf8[] = { "A=1", "B=\xff", NULL };
    CHECK_RC(ni_win_environment_block(bad_utf8, &block), ERROR_NO_UNICODE_TRANSLATION);
    ni_wbuf_free(&block);
}

NI_TEST_MAIN(
    NI_TEST_WINDOWS(quoting_round_trips),
    NI_TEST_WINDOWS(quoting_exact),
    NI_TEST_WINDOWS(values_are_rewritten),
    NI_TEST_WINDOWS(command_line_rewrites),
    NI_TEST_WINDOWS(command_line_errors),
    NI_TEST_WINDOWS(environment_block_order),
    NI_TEST_WINDOWS(environment_block_edges))
