/* A growing UTF-16 buffer (wbuf.c), for text handed to Win32: paths, command lines, environment blocks. */
#ifndef NI_WBUF_H
#define NI_WBUF_H

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <stddef.h>

/* A growing UTF-16 buffer, always NUL-terminated once it holds anything. Zero-initialise it. */
struct ni_wbuf
{
    wchar_t* data;
    size_t length, capacity;
};

/* Makes room for `n` more code units (and the terminator); 0 or ERROR_NOT_ENOUGH_MEMORY. */
DWORD ni_wbuf_reserve(struct ni_wbuf* b, size_t n);
/* Appends `n` copies of `c` into room reserved before: it cannot fail. */
void ni_wbuf_put(struct ni_wbuf* b, wchar_t c, size_t n);
/* Appends UTF-8 text converted to UTF-16; 0, ERROR_NO_UNICODE_TRANSLATION or ERROR_NOT_ENOUGH_MEMORY. */
DWORD ni_wbuf_utf8(struct ni_wbuf* b, const char* utf8);
void ni_wbuf_free(struct ni_wbuf* b);

#endif
