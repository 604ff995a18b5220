/*
 * The text ni_spawn hands to CreateProcessW: the command line (argv quoting, and the rewriting of
 * passed handle values) and the environment block. Pure functions: no process state is read or
 * changed, inputs come in, a buffer and 0 or a Win32 error come out. They are compiled into
 * tests/native/test_cmdline.c as well, which tests them alone.
 */
#ifndef NI_SPAWN_TEXT_H
#define NI_SPAWN_TEXT_H

#include "noinherit.h"
#include "wbuf.h"

/* A handle passed under its value: its value here, and the value it has in the child. */
struct ni_passed_handle
{
    ni_handle ours, theirs;
};

/*
 * If `text` (n bytes) is exactly the value of a passed handle, in decimal without leading zeros or
 * in 0x / 0X hex, writes the child's value in the same form (same 'x', same letter case) to `out`
 * and returns 1; else returns 0 and `out` is untouched.
 */
int ni_win_rewrite_value(const char* text, size_t n, const struct ni_passed_handle* passed, size_t count,
                         char out[32]);

/*
 * The command line for `argv` (argv[0] the program name): every argument quoted so that
 * CommandLineToArgvW and the MSVC runtime give it back exactly, each one that is a passed handle's
 * value rewritten first. With `raw`, argv[1] (if any and not empty) is appended verbatim after the
 * quoted argv[0], as ProcessStartInfo.Arguments is, each run of characters between blanks and quotes
 * rewritten as a whole argument would be. Appends to `line`; 0 or a Win32 error.
 */
DWORD ni_win_command_line(const char* const* argv, int raw, const struct ni_passed_handle* passed, size_t count,
                          struct ni_wbuf* line);

/*
 * `envp` ("NAME=value" strings, NULL-terminated) as a Unicode environment block sorted as
 * CreateProcessW requires: by name (up to the first '=' after the first character, so "=C:" is a
 * name), case-insensitively by ordinal (CompareStringOrdinal); equal names keep their order. The
 * caller's array is not changed. An empty block is two NULs. An empty string in `envp` would end
 * the block early: ERROR_INVALID_PARAMETER. Appends to `block`; 0 or a Win32 error.
 */
DWORD ni_win_environment_block(const char* const* envp, struct ni_wbuf* block);

#endif
