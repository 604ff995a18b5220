/*
 * The command line of a spawn: argv quoted so that CommandLineToArgvW gives it back, and the values
 * of handles passed by value rewritten to the values the child has (see spawn_text.h).
 */
#include "spawn_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Appends `s` (n code units) as one argument. argv[0] (`program`) has its own rule: it ends at the
   next quote, or blank outside quotes, and backslashes in it are literal, so it is only ever put in
   quotes. */
static DWORD quote(struct ni_wbuf* line, const wchar_t* s, size_t n, int program)
{
    /* At most every character doubled (backslashes before a quote or the end, an escaped quote),
       plus the blank before and two quotes. */
    DWORD error = ni_wbuf_reserve(line, 2 * n + 3);
    if (error != 0)
        return error;
    if (!program)
        ni_wbuf_put(line, L' ', 1);
    int needs_quotes = n == 0 || wcspbrk(s, L" \t\n\v\"") != NULL;
    if (program || !needs_quotes)
    {
        ni_wbuf_put(line, L'"', needs_quotes ? 1 : 0);
        for (size_t i = 0; i < n; i++)
            ni_wbuf_put(line, s[i], 1);
        ni_wbuf_put(line, L'"', needs_quotes ? 1 : 0);
        return 0;
    }
    ni_wbuf_put(line, L'"', 1);
    for (size_t i = 0;; i++)
    {
        size_t backslashes = 0;
        while (i < n && s[i] == L'\\')
            i++, backslashes++;
        if (i == n)
        {
            ni_wbuf_put(line, L'\\', backslashes * 2); /* doubled: the closing quote stays a quote */
            break;
        }
        if (s[i] == L'"')
            ni_wbuf_put(line, L'\\', backslashes * 2 + 1); /* doubled, and one to escape the quote */
        else
            ni_wbuf_put(line, L'\\', backslashes);
        ni_wbuf_put(line, s[i], 1);
    }
    ni_wbuf_put(line, L'"', 1);
    return 0;
}

static DWORD append_argument(struct ni_wbuf* line, const char* utf8, int program)
{
    struct ni_wbuf arg = { 0 };
    DWORD error = ni_wbuf_utf8(&arg, utf8);
    if (error == 0)
        error = quote(line, arg.data, arg.length, program);
    ni_wbuf_free(&arg);
    return error;
}

int ni_win_rewrite_value(const char* text, size_t n, const struct ni_passed_handle* passed, size_t count,
                         char out[32])
{
    int hex = n > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    size_t at = hex ? 2 : 0;
    /* Decimal with a leading zero is left alone: C's strtol(..., 0) would read it as octal. */
    if (n == at || n - at > (hex ? 16u : 19u) || (!hex && text[0] == '0'))
        return 0;
    unsigned long long value = 0;
    int upper = 0;
    for (size_t i = at; i < n; i++)
    {
        char c = text[i];
        int digit = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0)
            return 0;
        upper |= c >= 'A' && c <= 'F';
        value = value * (hex ? 16 : 10) + (unsigned)digit;
    }
    for (size_t i = 0; i < count; i++)
    {
        if ((unsigned long long)passed[i].ours != value)
            continue;
        unsigned long long theirs = (unsigned long long)passed[i].theirs;
        if (!hex)
            snprintf(out, 32, "%llu", theirs);
        else
            snprintf(out, 32, upper ? "0%c%llX" : "0%c%llx", text[1], theirs);
        return 1;
    }
    return 0;
}

/* ProcessStartInfo.Arguments-style text with each run of characters between blanks and quotes
   rewritten as a whole argument would be: a new string in *result. */
static DWORD rewrite_raw(const char* raw, const struct ni_passed_handle* passed, size_t count, char** result)
{
    size_t length = strlen(raw);
    char* text = malloc((length + 1) * 21); /* a rewritten run of 1 or more characters has at most 20 */
    if (text == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    size_t used = 0;
    for (size_t i = 0; i < length;)
    {
        size_t end = i;
        while (end < length && raw[end] != ' ' && raw[end] != '\t' && raw[end] != '"')
            end++;
        char value[32];
        if (end > i && ni_win_rewrite_value(raw + i, end - i, passed, count, value))
        {
            memcpy(text + used, value, strlen(value));
            used += strlen(value);
        }
        else
        {
            memcpy(text + used, raw + i, end - i);
            used += end - i;
        }
        if (end < length)
            text[used++] = raw[end++];
        i = end;
    }
    text[used] = '\0';
    *result = text;
    return 0;
}

static DWORD append_raw(struct ni_wbuf* line, const char* raw, const struct ni_passed_handle* passed, size_t count)
{
    char* rewritten;
    DWORD error = rewrite_raw(raw, passed, count, &rewritten);
    if (error != 0)
        return error;
    error = ni_wbuf_reserve(line, 1);
    if (error == 0)
    {
        ni_wbuf_put(line, L' ', 1);
        error = ni_wbuf_utf8(line, rewritten);
    }
    free(rewritten);
    return error;
}

DWORD ni_win_command_line(const char* const* argv, int raw, const struct ni_passed_handle* passed, size_t count,
                          struct ni_wbuf* line)
{
    DWORD error = append_argument(line, argv[0], 1);
    if (error != 0 || argv[1] == NULL)
        return error;
    if (raw)
        return argv[1][0] != '\0' ? append_raw(line, argv[1], passed, count) : 0;
    for (size_t i = 1; argv[i] != NULL; i++)
    {
        char value[32];
        int rewritten = ni_win_rewrite_value(argv[i], strlen(argv[i]), passed, count, value);
        error = append_argument(line, rewritten ? value : argv[i], 0);
        if (error != 0)
            return error;
    }
    return 0;
}
