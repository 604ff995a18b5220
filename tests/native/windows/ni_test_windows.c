/* The Windows part of the test framework: the probe child (ni_handleprobe.exe) and handle counts. */
#include "ni_test.h"

#include <winsock2.h>
#include <windows.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static const char* g_probe;

static wchar_t* widen(const char* text, UINT code_page)
{
    int n = MultiByteToWideChar(code_page, MB_ERR_INVALID_CHARS, text, -1, NULL, 0);
    wchar_t* wide = n > 0 ? malloc((size_t)n * sizeof *wide) : NULL;
    if (wide != NULL)
        MultiByteToWideChar(code_page, MB_ERR_INVALID_CHARS, text, -1, wide, n);
    return wide;
}

wchar_t* ni_test_wide_path(const char* utf8)
{
    int absolute = isalpha((unsigned char)utf8[0]) && utf8[1] == ':' && (utf8[2] == '\\' || utf8[2] == '/');
    size_t length = strlen(utf8);
    char* prefixed = malloc(length + 5);
    if (prefixed == NULL)
        return NULL;
    snprintf(prefixed, length + 5, "%s%s", absolute ? "\\\\?\\" : "", utf8);
    wchar_t* wide = widen(prefixed, CP_UTF8);
    free(prefixed);
    for (wchar_t* p = wide; p != NULL && *p != L'\0'; p++)
        if (*p == L'/')
            *p = L'\\'; /* the \\?\ form takes the path as it is: no '/' */
    return wide;
}

int ni_test_platform_start(const char* child, char** emulator, char dir[NI_TEST_PATH_MAX])
{
    if (emulator != NULL && emulator[0] != NULL)
    {
        fprintf(stderr, "the probe is started with CreateProcessW, there is no emulator for it\n");
        return -1;
    }
    g_probe = child;
    /* No error box may wait for a click in an unattended run. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    /* ni_test_describe_handle asks Winsock about every handle, also before the library started it.
       And wine's Winsock keeps a per-thread handle from the first bind/accept on: had it now, so that
       the leak check does not count it against the first case that binds. */
    WSADATA data;
    SOCKET warm_up = INVALID_SOCKET;
    struct sockaddr_in loopback;
    memset(&loopback, 0, sizeof loopback);
    loopback.sin_family = AF_INET;
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (WSAStartup(MAKEWORD(2, 2), &data) != 0 ||
        (warm_up = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED)) == INVALID_SOCKET ||
        bind(warm_up, (struct sockaddr*)&loopback, sizeof loopback) != 0)
    {
        fprintf(stderr, "cannot start Winsock: %d\n", WSAGetLastError());
        return -1;
    }
    closesocket(warm_up);
    wchar_t temp[MAX_PATH + 1], wide_dir[MAX_PATH + 64];
    DWORD n = GetTempPathW(MAX_PATH + 1, temp);
    if (n == 0 || n > MAX_PATH)
    {
        fprintf(stderr, "GetTempPathW failed: %lu\n", GetLastError());
        return -1;
    }
    for (unsigned attempt = 0;; attempt++)
    {
        _snwprintf(wide_dir, sizeof wide_dir / sizeof wide_dir[0], L"%lsni-test-%lu-%u", temp,
                   GetCurrentProcessId(), attempt);
        if (CreateDirectoryW(wide_dir, NULL))
            break;
        if (GetLastError() != ERROR_ALREADY_EXISTS || attempt == 100)
        {
            fprintf(stderr, "cannot create a temp dir in %ls: %lu\n", temp, GetLastError());
            return -1;
        }
    }
    if (WideCharToMultiByte(CP_UTF8, 0, wide_dir, -1, dir, NI_TEST_PATH_MAX, NULL, NULL) == 0)
        return -1;
    return 0;
}

static wchar_t* join(const wchar_t* dir, const wchar_t* name)
{
    size_t a = wcslen(dir), b = wcslen(name);
    wchar_t* path = malloc((a + b + 2) * sizeof *path);
    if (path != NULL)
    {
        wmemcpy(path, dir, a);
        path[a] = L'\\';
        wmemcpy(path + a + 1, name, b + 1);
    }
    return path;
}

static void remove_tree(const wchar_t* dir, int remove_dir)
{
    wchar_t* pattern = join(dir, L"*");
    WIN32_FIND_DATAW entry;
    HANDLE find = pattern != NULL ? FindFirstFileW(pattern, &entry) : INVALID_HANDLE_VALUE;
    free(pattern);
    for (BOOL more = find != INVALID_HANDLE_VALUE; more; more = FindNextFileW(find, &entry))
    {
        if (wcscmp(entry.cFileName, L".") == 0 || wcscmp(entry.cFileName, L"..") == 0)
            continue;
        wchar_t* path = join(dir, entry.cFileName);
        if (path == NULL)
            continue;
        if (entry.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
            remove_tree(path, 1);
        else
        {
            SetFileAttributesW(path, FILE_ATTRIBUTE_NORMAL); /* a read-only file cannot be deleted */
            if (!DeleteFileW(path))
                fprintf(stderr, "cannot remove %ls: error %lu\n", path, GetLastError());
        }
        free(path);
    }
    if (find != INVALID_HANDLE_VALUE)
        FindClose(find);
    if (remove_dir && !RemoveDirectoryW(dir))
        fprintf(stderr, "cannot remove %ls: error %lu\n", dir, GetLastError());
}

void ni_test_clean_dir(const char* dir, int remove_dir)
{
    wchar_t* wide = ni_test_wide_path(dir); /* \\?\: the long-path tests leave deep trees */
    if (wide != NULL)
        remove_tree(wide, remove_dir);
    free(wide);
}

FILE* ni_test_fopen(const char* path, const char* how, int mode)
{
    (void)mode; /* Windows keeps no permission bits */
    wchar_t* wide = ni_test_wide_path(path);
    if (wide == NULL)
    {
        errno = EINVAL;
        return NULL;
    }
    /* "N": not inherited by the probes that this process starts. */
    FILE* f = _wfopen(wide, how[0] == 'w' ? L"wbN" : L"rbN");
    free(wide);
    return f;
}

int ni_test_count_handles(void)
{
    /* GetProcessHandleCount would do, but wine's always says 0. So every value is tried: handles are
       multiples of 4, handed out lowest first, and a test process has far fewer than 4096. */
    int count = 0;
    for (ULONG_PTR value = 4; value < 0x4000; value += 4)
    {
        DWORD flags;
        count += GetHandleInformation((HANDLE)value, &flags) != 0;
    }
    return count;
}

int ni_test_inherit_flag(ni_handle handle)
{
    DWORD flags;
    return GetHandleInformation((HANDLE)handle, &flags) ? (flags & HANDLE_FLAG_INHERIT) != 0 : -1;
}

char* ni_test_probe(const ni_handle* handles, size_t count)
{
    size_t size = strlen(g_probe) + 3 + count * 24;
    char* command = malloc(size);
    if (!CHECK(command != NULL))
        return NULL;
    size_t used = (size_t)snprintf(command, size, "\"%s\"", g_probe);
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(command + used, size - used, " 0x%llx", (unsigned long long)handles[i]);
    wchar_t* wide_command = widen(command, CP_ACP); /* the probe's path came in through argv */
    free(command);

    /* The probe's stdout: the write end is inherited, the read end stays here. */
    HANDLE read_end, write_end;
    if (!CHECK(wide_command != NULL) || !CHECK(CreatePipe(&read_end, &write_end, NULL, 0)))
    {
        free(wide_command);
        return NULL;
    }
    SetHandleInformation(write_end, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    STARTUPINFOW startup;
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdOutput = write_end;
    startup.hStdError = write_end;
    PROCESS_INFORMATION process;
    BOOL started = CreateProcessW(NULL, wide_command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &process);
    DWORD error = GetLastError();
    CloseHandle(write_end);
    free(wide_command);
    if (!started)
    {
        ni_test_fail(__FILE__, __LINE__, "cannot start the probe %s: error %lu", g_probe, error);
        CloseHandle(read_end);
        return NULL;
    }

    int fd = _open_osfhandle((intptr_t)read_end, _O_RDONLY | _O_BINARY);
    FILE* f = fd >= 0 ? _fdopen(fd, "rb") : NULL;
    char* output = f != NULL ? ni_test_read_stream(f, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    else if (fd >= 0)
        _close(fd);
    else
        CloseHandle(read_end);
    DWORD exit_code = 1;
    WaitForSingleObject(process.hProcess, INFINITE);
    GetExitCodeProcess(process.hProcess, &exit_code);
    CloseHandle(process.hProcess);
    CloseHandle(process.hThread);
    if (!CHECK(output != NULL) || !CHECK_INT(exit_code, 0))
    {
        if (output != NULL)
            fprintf(stderr, "the probe said:\n%s", output);
        free(output);
        return NULL;
    }
    return output;
}

/* The probe's description of `handle` (not NUL-terminated: up to the line's end), or NULL. */
static const char* probe_line(const char* output, ni_handle handle, size_t* length)
{
    char key[32];
    size_t key_length = (size_t)snprintf(key, sizeof key, "0x%llx ", (unsigned long long)handle);
    for (const char* line = output; line != NULL && *line != '\0';)
    {
        const char* end = strchr(line, '\n');
        size_t line_length = end != NULL ? (size_t)(end - line) : strlen(line);
        if (line_length >= key_length && memcmp(line, key, key_length) == 0)
        {
            *length = line_length - key_length;
            return line + key_length;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

int ni_test_probe_holds(const char* output, ni_handle handle)
{
    static char ours[NI_TEST_PATH_MAX * 3 + 64];
    ni_test_describe_handle(handle, ours, sizeof ours);
    size_t length = 0;
    const char* theirs = probe_line(output, handle, &length);
    return theirs != NULL && strcmp(ours, "-") != 0 && length == strlen(ours) && memcmp(theirs, ours, length) == 0;
}

int ni_test_child_sees(ni_handle handle)
{
    char* output = ni_test_probe(&handle, 1);
    int seen = output != NULL && ni_test_probe_holds(output, handle);
    free(output);
    return seen;
}

int ni_test_check_inheritance(const char* file, int line, ni_handle ours, ni_handle control)
{
    static char ours_text[NI_TEST_PATH_MAX * 3 + 64], control_text[NI_TEST_PATH_MAX * 3 + 64];
    ni_test_describe_handle(ours, ours_text, sizeof ours_text);
    ni_test_describe_handle(control, control_text, sizeof control_text);
    if (strcmp(ours_text, "-") == 0 || strcmp(control_text, "-") == 0)
    {
        ni_test_fail(file, line, "0x%llx (%s) / 0x%llx (%s): not open here, the probe cannot prove anything",
                     (unsigned long long)ours, ours_text, (unsigned long long)control, control_text);
        return 0;
    }
    ni_handle both[2] = { ours, control };
    char* output = ni_test_probe(both, 2);
    if (output == NULL)
        return 0;
    int ok = 1;
    if (ni_test_probe_holds(output, ours))
    {
        ni_test_fail(file, line, "the child inherited handle 0x%llx (%s)", (unsigned long long)ours, ours_text);
        ok = 0;
    }
    if (!ni_test_probe_holds(output, control))
    {
        ni_test_fail(file, line, "the child lacks the inheritable control handle 0x%llx (%s): the check is blind",
                     (unsigned long long)control, control_text);
        ok = 0;
    }
    if (!ok)
        fprintf(stderr, "the probe said:\n%s", output);
    free(output);
    return ok;
}
