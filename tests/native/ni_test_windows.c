/* The Windows part of the test framework: the probe child (ni_handleprobe.exe), this process's handles,
   and the file and handle primitives. Paths are UTF-8 here and \\?\ UTF-16 for the system. */
#include "ni_test.h"

#include <ctype.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

static char* g_child_argv[2]; /* the probe, NULL */
static char g_self[MAX_PATH * 3];

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

/* Winsock is started for the tests (ni_test_describe_handle asks it about every handle, also before the
   library started it). And wine's Winsock keeps a per-thread handle from the first bind/accept on: had
   now, so that the leak check does not count it against the first case that binds. */
static int start_winsock(void)
{
    WSADATA data;
    SOCKET warm_up = INVALID_SOCKET;
    struct sockaddr_in loopback = ni_test_loopback(0);
    if (WSAStartup(MAKEWORD(2, 2), &data) != 0 ||
        (warm_up = WSASocketW(AF_INET, SOCK_STREAM, 0, NULL, 0, WSA_FLAG_OVERLAPPED)) == INVALID_SOCKET ||
        bind(warm_up, (struct sockaddr*)&loopback, sizeof loopback) != 0)
    {
        fprintf(stderr, "cannot start Winsock: %d\n", WSAGetLastError());
        return -1;
    }
    closesocket(warm_up);
    return 0;
}

static int make_temp_dir(char dir[NI_TEST_PATH_MAX])
{
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
    return WideCharToMultiByte(CP_UTF8, 0, wide_dir, -1, dir, NI_TEST_PATH_MAX, NULL, NULL) != 0 ? 0 : -1;
}

int ni_test_platform_start(const char* self, const char* child, char** emulator, char dir[NI_TEST_PATH_MAX])
{
    (void)self; /* the module's own name is exact, argv[0] may not be */
    if (emulator != NULL && emulator[0] != NULL)
    {
        fprintf(stderr, "the probe is started with CreateProcessW, there is no emulator for it\n");
        return -1;
    }
    g_child_argv[0] = (char*)child;
    wchar_t wide_self[MAX_PATH];
    DWORD n = GetModuleFileNameW(NULL, wide_self, MAX_PATH);
    if (n == 0 || n >= MAX_PATH ||
        WideCharToMultiByte(CP_UTF8, 0, wide_self, -1, g_self, (int)sizeof g_self, NULL, NULL) == 0)
        return -1;
    /* No error box may wait for a click in an unattended run. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    return start_winsock() == 0 ? make_temp_dir(dir) : -1;
}

int ni_test_platform_role(const char* role, int argc, char** argv)
{
    (void)argc; (void)argv;
    if (strcmp(role, "argv") == 0)
        return ni_test_print_arguments(1);
    if (strcmp(role, "env") != 0)
        return -1;
    wchar_t* block = GetEnvironmentStringsW();
    for (const wchar_t* p = block; *p != L'\0'; p += wcslen(p) + 1)
    {
        const wchar_t* equals = wcschr(p + 1, L'=');
        ni_test_print_bracketed(p, equals != NULL ? (size_t)(equals - p) : wcslen(p));
    }
    return 0;
}

char* const* ni_test_child_argv(void)
{
    return g_child_argv;
}

const char* ni_test_self(void)
{
    return g_self;
}

long long ni_test_now_ms(void)
{
    return (long long)GetTickCount64();
}

/* ---- Files ---- */

static wchar_t* join(const wchar_t* dir, const wchar_t* name)
{
    size_t a = wcslen(dir), b = wcslen(name);
    while (a > 0 && dir[a - 1] == L'\\')
        a--; /* "dir\\" (ni_test_path(out, "")) is the same dir */
    wchar_t* path = malloc((a + b + 2) * sizeof *path);
    if (path != NULL)
    {
        wmemcpy(path, dir, a);
        path[a] = L'\\';
        wmemcpy(path + a + 1, name, b + 1);
    }
    return path;
}

/* Calls fn for each entry of `dir` (no "." or ".."); stops at a nonzero result, which it returns. */
static int each_entry(const wchar_t* dir, int (*fn)(const wchar_t* dir, const WIN32_FIND_DATAW* entry, void* arg),
                      void* arg)
{
    wchar_t* pattern = join(dir, L"*");
    WIN32_FIND_DATAW entry;
    HANDLE find = pattern != NULL ? FindFirstFileW(pattern, &entry) : INVALID_HANDLE_VALUE;
    free(pattern);
    int result = 0;
    for (BOOL more = find != INVALID_HANDLE_VALUE; more && result == 0; more = FindNextFileW(find, &entry))
        if (wcscmp(entry.cFileName, L".") != 0 && wcscmp(entry.cFileName, L"..") != 0)
            result = fn(dir, &entry, arg);
    if (find != INVALID_HANDLE_VALUE)
        FindClose(find);
    return find == INVALID_HANDLE_VALUE ? -1 : result;
}

static int remove_entry(const wchar_t* dir, const WIN32_FIND_DATAW* entry, void* arg)
{
    (void)arg;
    wchar_t* path = join(dir, entry->cFileName);
    if (path == NULL)
        return 0;
    if (entry->dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
    {
        each_entry(path, remove_entry, NULL);
        if (!RemoveDirectoryW(path))
            fprintf(stderr, "cannot remove %ls: error %lu\n", path, GetLastError());
    }
    else
    {
        SetFileAttributesW(path, FILE_ATTRIBUTE_NORMAL); /* a read-only file cannot be deleted */
        if (!DeleteFileW(path))
            fprintf(stderr, "cannot remove %ls: error %lu\n", path, GetLastError());
    }
    free(path);
    return 0;
}

void ni_test_clean_dir(const char* dir, int remove_dir)
{
    wchar_t* wide = ni_test_wide_path(dir); /* \\?\: the long-path tests leave deep trees */
    if (wide != NULL)
    {
        each_entry(wide, remove_entry, NULL);
        if (remove_dir && !RemoveDirectoryW(wide))
            fprintf(stderr, "cannot remove %ls: error %lu\n", wide, GetLastError());
    }
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

int ni_test_mkdir(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    BOOL ok = wide != NULL && CreateDirectoryW(wide, NULL);
    DWORD error = wide != NULL ? GetLastError() : ERROR_INVALID_PARAMETER;
    free(wide);
    return ok ? 0 : (int)error;
}

int ni_test_remove(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    BOOL ok = wide != NULL && DeleteFileW(wide);
    DWORD error = wide != NULL ? GetLastError() : ERROR_INVALID_PARAMETER;
    free(wide);
    return ok ? 0 : (int)error;
}

int ni_test_exists(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    int exists = wide != NULL && GetFileAttributesW(wide) != INVALID_FILE_ATTRIBUTES;
    free(wide);
    return exists;
}

long long ni_test_file_size(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    WIN32_FILE_ATTRIBUTE_DATA data;
    BOOL ok = wide != NULL && GetFileAttributesExW(wide, GetFileExInfoStandard, &data);
    free(wide);
    return ok ? (long long)data.nFileSizeHigh << 32 | data.nFileSizeLow : -1;
}

int ni_test_file_is_open(const char* path)
{
    /* Sharing nothing, an open fails while anyone, in any process, has the file open. */
    wchar_t* wide = ni_test_wide_path(path);
    HANDLE h = wide != NULL ? CreateFileW(wide, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) : INVALID_HANDLE_VALUE;
    DWORD error = GetLastError();
    free(wide);
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    return h == INVALID_HANDLE_VALUE && error == ERROR_SHARING_VIOLATION;
}

static int count_entry(const wchar_t* dir, const WIN32_FIND_DATAW* entry, void* arg)
{
    (void)dir;
    const wchar_t* prefix = ((void**)arg)[0];
    int* count = ((void**)arg)[1];
    *count += wcsncmp(entry->cFileName, prefix, wcslen(prefix)) == 0;
    return 0;
}

int ni_test_count_entries(const char* dir, const char* prefix)
{
    int count = 0;
    wchar_t* wide = ni_test_wide_path(dir);
    wchar_t* wide_prefix = widen(prefix, CP_UTF8);
    void* arg[2] = { wide_prefix, &count };
    int rc = wide != NULL && wide_prefix != NULL ? each_entry(wide, count_entry, arg) : -1;
    free(wide);
    free(wide_prefix);
    return rc < 0 ? -1 : count;
}

/* ---- Handles ---- */

int ni_test_list_handles(ni_handle* out, int capacity)
{
    /* GetProcessHandleCount would count them, but wine's always says 0. So every value is tried: handles
       are multiples of 4, handed out lowest first, and a test process has far fewer than 4096. */
    int count = 0;
    for (ULONG_PTR value = 4; value < 0x4000; value += 4)
    {
        DWORD flags;
        if (!GetHandleInformation((HANDLE)value, &flags))
            continue;
        if (count < capacity)
            out[count] = (ni_handle)value;
        count++;
    }
    return count;
}

int ni_test_socket_error(void)
{
    return WSAGetLastError();
}

long long ni_test_write(ni_handle h, const void* data, size_t size)
{
    DWORD n = 0;
    return WriteFile((HANDLE)h, data, (DWORD)size, &n, NULL) ? (long long)n : -(long long)GetLastError();
}

long long ni_test_read(ni_handle h, void* data, size_t size)
{
    DWORD n = 0;
    if (ReadFile((HANDLE)h, data, (DWORD)size, &n, NULL))
        return (long long)n;
    return GetLastError() == ERROR_BROKEN_PIPE ? 0 : -(long long)GetLastError();
}

long long ni_test_seek(ni_handle h, long long offset, int whence)
{
    LARGE_INTEGER to, position;
    to.QuadPart = offset;
    /* SEEK_SET, SEEK_CUR, SEEK_END are FILE_BEGIN, FILE_CURRENT, FILE_END. */
    return SetFilePointerEx((HANDLE)h, to, &position, (DWORD)whence) ? position.QuadPart : -(long long)GetLastError();
}

char* ni_test_read_all(ni_handle h, int timeout_ms, int* timed_out)
{
    size_t size = 0, capacity = 4096;
    char* text = malloc(capacity);
    long long deadline = ni_test_now_ms() + timeout_ms;
    *timed_out = 0;
    for (;;)
    {
        /* A pipe cannot be polled: peek until there is something, the end, or the deadline. */
        DWORD available = 0;
        if (!PeekNamedPipe((HANDLE)h, NULL, 0, NULL, &available, NULL))
            break; /* ERROR_BROKEN_PIPE: the end */
        if (available == 0)
        {
            if (ni_test_now_ms() > deadline)
            {
                *timed_out = 1;
                break;
            }
            Sleep(1);
            continue;
        }
        if (size + 1024 > capacity)
            text = realloc(text, capacity *= 2);
        long long n = ni_test_read(h, text + size, capacity - size - 1);
        if (n <= 0)
            break;
        size += (size_t)n;
        deadline = ni_test_now_ms() + timeout_ms;
    }
    text[size] = '\0';
    return text;
}

int ni_test_set_nonblocking(ni_handle h, int on)
{
    u_long value = on != 0;
    return ioctlsocket((SOCKET)h, FIONBIO, &value) == 0;
}

int ni_test_inherit_flag(ni_handle h)
{
    DWORD flags;
    return GetHandleInformation((HANDLE)h, &flags) ? (flags & HANDLE_FLAG_INHERIT) != 0 : -1;
}

int ni_test_make_inheritable(ni_handle h)
{
    return SetHandleInformation((HANDLE)h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT) != 0;
}

ni_handle ni_test_plain_file(const char* path)
{
    SECURITY_ATTRIBUTES inheritable = { sizeof inheritable, NULL, TRUE };
    wchar_t* wide = ni_test_wide_path(path);
    HANDLE h = wide != NULL ? CreateFileW(wide, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                          &inheritable, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL)
                            : INVALID_HANDLE_VALUE;
    free(wide);
    return (ni_handle)h;
}

int ni_test_plain_pipe(ni_handle* read_end, ni_handle* write_end)
{
    SECURITY_ATTRIBUTES inheritable = { sizeof inheritable, NULL, TRUE };
    HANDLE r, w;
    if (!CreatePipe(&r, &w, &inheritable, 0))
        return 0;
    *read_end = (ni_handle)r;
    *write_end = (ni_handle)w;
    return 1;
}

ni_handle ni_test_plain_dup(ni_handle h)
{
    HANDLE process = GetCurrentProcess(), copy;
    return DuplicateHandle(process, (HANDLE)h, process, &copy, 0, TRUE, DUPLICATE_SAME_ACCESS) ? (ni_handle)copy
                                                                                                : NI_INVALID_HANDLE;
}

/* ---- The probe child ---- */

/* Starts `command` (CreateProcessW, bInheritHandles=TRUE) with stdout to a pipe; its output, or NULL. */
static char* run_probe(wchar_t* command)
{
    HANDLE read_end, write_end;
    if (!CHECK(CreatePipe(&read_end, &write_end, NULL, 0)))
        return NULL;
    SetHandleInformation(write_end, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT); /* the probe's stdout */
    STARTUPINFOW startup;
    memset(&startup, 0, sizeof startup);
    startup.cb = sizeof startup;
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdOutput = write_end;
    startup.hStdError = write_end;
    PROCESS_INFORMATION process;
    BOOL started = CreateProcessW(NULL, command, NULL, NULL, TRUE, 0, NULL, NULL, &startup, &process);
    DWORD error = GetLastError();
    CloseHandle(write_end);
    if (!started)
    {
        ni_test_fail(__FILE__, __LINE__, "cannot start the probe %s: error %lu", g_child_argv[0], error);
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

char* ni_test_probe(const ni_handle* handles, size_t count)
{
    size_t size = strlen(g_child_argv[0]) + 3 + count * 24;
    char* command = malloc(size);
    if (!CHECK(command != NULL))
        return NULL;
    size_t used = (size_t)snprintf(command, size, "\"%s\"", g_child_argv[0]);
    for (size_t i = 0; i < count; i++)
        used += (size_t)snprintf(command + used, size - used, " %lld", (long long)handles[i]);
    wchar_t* wide_command = widen(command, CP_ACP); /* the probe's path came in through argv */
    free(command);
    char* output = CHECK(wide_command != NULL) ? run_probe(wide_command) : NULL;
    free(wide_command);
    return output;
}
