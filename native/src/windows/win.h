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

/* The jobs a child of ni_spawn is put in before it runs (job.c). */
struct ni_win_jobs
{
    HANDLE parent_exit; /* NI_SPAWN_KILL_ON_PARENT_EXIT: the lasting kill-on-close job (not the caller's to close) */
    HANDLE own;         /* NI_SPAWN_PROCESS_TREE, NI_SPAWN_NEW_PROCESS_GROUP: the child's own job, becomes result->job */
};
/* The jobs `flags` ask for (the lasting one made on first use, the child's own made now); 0 or a Win32 error. */
DWORD ni_win_jobs_prepare(int32_t flags, struct ni_win_jobs* jobs);
/* Puts the (suspended) process in them, the lasting one first; 0 or a Win32 error. */
DWORD ni_win_jobs_assign(const struct ni_win_jobs* jobs, HANDLE process);

/* ni_kill_tree without a job: terminates the descendants of `process` found by parent id (descendants.c); *reached
   says whether there were any. 0 or a Win32 error. */
int32_t ni_win_kill_descendants(const ni_process* process, int* reached);

/* SIGKILL's number here (ni_signal_number gives it for NI_SIGKILL), the one signal number that means more than
   "terminate" (ni_signal_group). */
#define NI_WIN_SIGKILL 9

/* The pseudo consoles of ni_pty_open (pty.c). ni_win_console_use: 0 if `console` is open, and then it stays open
   until ni_win_console_done; else ERROR_INVALID_HANDLE (and nothing to release). */
DWORD ni_win_console_use(ni_handle console);
void ni_win_console_done(void);

#endif
