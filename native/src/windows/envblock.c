/* The environment block of a spawn: envp converted to UTF-16 and sorted as CreateProcessW requires
   (see spawn_text.h). */
#include "spawn_text.h"

#include <stdlib.h>
#include <wchar.h>

/* The name of an entry ends at the first '=' after its first character: "=C:=C:\dir" is named "=C:". */
static size_t name_length(const wchar_t* entry)
{
    const wchar_t* equals = entry[0] != L'\0' ? wcschr(entry + 1, L'=') : NULL;
    return equals != NULL ? (size_t)(equals - entry) : wcslen(entry);
}

/* By name as uppercase code units (CompareStringOrdinal ignoring case), then by position: every
   entry lives in one buffer in the caller's order, so equal names keep that order. */
static int compare_entries(const void* a, const void* b)
{
    const wchar_t* x = *(const wchar_t* const*)a;
    const wchar_t* y = *(const wchar_t* const*)b;
    int order = CompareStringOrdinal(x, (int)name_length(x), y, (int)name_length(y), TRUE);
    if (order == CSTR_LESS_THAN)
        return -1;
    if (order == CSTR_GREATER_THAN)
        return 1;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Every entry converted into `all`, each with its terminator; the offset of entry i in offsets[i]. */
static DWORD convert_all(const char* const* envp, size_t count, struct ni_wbuf* all, size_t* offsets)
{
    for (size_t i = 0; i < count; i++)
    {
        if (envp[i][0] == '\0')
            return ERROR_INVALID_PARAMETER; /* an empty entry would end the block here */
        offsets[i] = all->length;
        DWORD error = ni_wbuf_utf8(all, envp[i]);
        if (error == 0)
            error = ni_wbuf_reserve(all, 1);
        if (error != 0)
            return error;
        ni_wbuf_put(all, L'\0', 1);
    }
    return 0;
}

DWORD ni_win_environment_block(const char* const* envp, struct ni_wbuf* block)
{
    size_t count = 0;
    while (envp[count] != NULL)
        count++;
    struct ni_wbuf all = { 0 };
    const wchar_t** entries = calloc(count + 1, sizeof *entries);
    size_t* offsets = calloc(count + 1, sizeof *offsets);
    DWORD error = entries == NULL || offsets == NULL ? ERROR_NOT_ENOUGH_MEMORY : convert_all(envp, count, &all, offsets);
    if (error != 0)
        goto cleanup;
    for (size_t i = 0; i < count; i++)
        entries[i] = all.data + offsets[i]; /* only now: the buffer no longer moves */
    qsort(entries, count, sizeof *entries, compare_entries);
    /* The entries with their terminators, and the block's own; an empty block is two NULs. */
    error = ni_wbuf_reserve(block, all.length + (count == 0 ? 2 : 1));
    if (error != 0)
        goto cleanup;
    for (size_t i = 0; i < count; i++)
    {
        for (const wchar_t* p = entries[i]; *p != L'\0'; p++)
            ni_wbuf_put(block, *p, 1);
        ni_wbuf_put(block, L'\0', 1);
    }
    ni_wbuf_put(block, L'\0', count == 0 ? 2 : 1);

cleanup:
    free(entries);
    free(offsets);
    ni_wbuf_free(&all);
    return error;
}
