/* The Win32 platform layer: shared helpers of the Windows capability files. */
#ifndef NI_WIN_H
#define NI_WIN_H

#ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include "ni_internal.h"

#ifndef ERROR_DIRECTORY_NOT_SUPPORTED
#  define ERROR_DIRECTORY_NOT_SUPPORTED 336L /* missing from older MinGW headers */
#endif
#ifndef ERROR_NOTHING_TO_TERMINATE
#  define ERROR_NOTHING_TO_TERMINATE 758L /* missing from MinGW's headers */
#endif

/*
 * Converts a UTF-8 path to a newly allocated UTF-16 one that CreateFileW and CopyFileExW accept at
 * any length: absolute paths longer than MAX_PATH get the \\?\ (or \\?\UNC\) prefix after
 * normalisation. Returns 0 or a Win32 error (ERROR_NO_UNICODE_TRANSLATION for invalid UTF-8).
 */
DWORD ni_win_path(const char* utf8, wchar_t** result);

/* `path` made absolute and \\?\-prefixed (\\?\UNC\ for \\server\share), newly allocated, so that a
   longer name beside it works at any length; one already in that form is copied. 0 or a Win32 error. */
DWORD ni_win_extended_path(const wchar_t* path, wchar_t** result);

/* Whether `c` separates path components ('\\' or '/'). */
int ni_win_is_separator(wchar_t c);

/* Starts Winsock once for the process; 0 or a WSA error. */
int ni_win_sockets_ready(void);

/* Records that `capability` turned out not to be atomic on this system. */
void ni_win_degrade(uint32_t capability);

/* Non-inheritable security attributes for every creating call. */
extern SECURITY_ATTRIBUTES ni_win_no_inherit;

/* The helper process (helper.c) that ni_spawn's children inherit their handles from. */
/* Its process handle (never inheritable), started on first use; 0 or a Win32 error. */
DWORD ni_win_helper(HANDLE* helper);
/* Duplicates `ours` into the helper, inheritable there, as *theirs; 0 or a Win32 error. */
DWORD ni_win_helper_take(HANDLE helper, HANDLE ours, HANDLE* theirs);
/* Closes a duplicate the helper holds. A failure would leave it there: nothing to report it to. */
void ni_win_helper_release(HANDLE helper, HANDLE theirs);

#endif
