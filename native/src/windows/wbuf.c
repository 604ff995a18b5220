/* A growing UTF-16 buffer: what paths, command lines and environment blocks are built in. Room is
   reserved first, so that appending itself cannot fail. */
#include "wbuf.h"

#include <stdlib.h>

DWORD ni_wbuf_reserve(struct ni_wbuf* b, size_t n)
{
    if (b->length + n + 1 <= b->capacity)
        return 0;
    if (n > (size_t)-1 / (2 * sizeof(wchar_t)) - b->length - 1)
        return ERROR_NOT_ENOUGH_MEMORY; /* the size in bytes would wrap */
    size_t capacity = (b->length + n + 1) * 2;
    wchar_t* data = realloc(b->data, capacity * sizeof(wchar_t));
    if (data == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    b->data = data, b->capacity = capacity;
    b->data[b->length] = L'\0';
    return 0;
}

void ni_wbuf_put(struct ni_wbuf* b, wchar_t c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b->data[b->length++] = c;
    b->data[b->length] = L'\0';
}

DWORD ni_wbuf_utf8(struct ni_wbuf* b, const char* utf8)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (n <= 0)
        return GetLastError();
    DWORD error = ni_wbuf_reserve(b, (size_t)n);
    if (error != 0)
        return error;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, b->data + b->length, n);
    b->length += (size_t)n - 1; /* the converted terminator stays, as the buffer's own */
    return 0;
}

void ni_wbuf_free(struct ni_wbuf* b)
{
    free(b->data);
    b->data = NULL;
    b->length = b->capacity = 0;
}
