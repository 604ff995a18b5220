/* ni_spawn on Windows: the handle list, the command-line quoting, exit codes and errors. */
#include "ni_test.h"

#include <windows.h>
#include <stdlib.h>
#include <string.h>

/* The test binary doubles as a child: NI_SPAWN_ROLE=argv prints its arguments as CommandLineToArgvW
   splits them, "[a][b]..." in UTF-8; NI_SPAWN_ROLE=exit exits with the code in argv[1];
   NI_SPAWN_ROLE=env prints the names of its environment block in their order, "[A][b]...". */
typedef LPWSTR* (WINAPI* split_fn)(LPCWSTR, int*);

static void write_bracketed(HANDLE out, const wchar_t* text, size_t length)
{
    char utf8[4096];
    int n = WideCharToMultiByte(CP_UTF8, 0, text, (int)length, utf8 + 1, (int)sizeof utf8 - 3, NULL, NULL);
    if (n <= 0 && length > 0)
        ExitProcess(92);
    utf8[0] = '[';
    utf8[n + 1] = ']';
    DWORD written;
    WriteFile(out, utf8, (DWORD)n + 2, &written, NULL);
}

static void warm_up(void);

__attribute__((constructor)) static void child_role(void)
{
    char role[16];
    DWORD n = GetEnvironmentVariableA("NI_SPAWN_ROLE", role, sizeof role);
    if (n == 0 || n >= sizeof role)
    {
        warm_up();
        return;
    }
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    if (strcmp(role, "env") == 0)
    {
        wchar_t* block = GetEnvironmentStringsW();
        for (const wchar_t* p = block; *p != L'\0'; p += wcslen(p) + 1)
        {
            const wchar_t* equals = wcschr(p + 1, L'=');
            write_bracketed(out, p, equals != NULL ? (size_t)(equals - p) : wcslen(p));
        }
        ExitProcess(0);
    }
    split_fn split = (split_fn)(void (*)(void))GetProcAddress(LoadLibraryA("shell32.dll"), "CommandLineToArgvW");
    int argc = 0;
    LPWSTR* argv = split != NULL ? split(GetCommandLineW(), &argc) : NULL;
    if (argv == NULL)
        ExitProcess(90);
    if (strcmp(role, "exit") == 0)
        ExitProcess(argc > 1 ? (UINT)_wtoi(argv[1]) : 91);
    for (int i = 1; i < argc; i++)
        write_bracketed(out, argv[i], wcslen(argv[i]));
    ExitProcess(0);
}

static void self_path(char out[MAX_PATH])
{
    GetModuleFileNameA(NULL, out, MAX_PATH);
}

static void probe_path(char out[MAX_PATH])
{
    self_path(out);
    char* slash = strrchr(out, '\\');
    strcpy(slash != NULL ? slash + 1 : out, "ni_handleprobe.exe");
}

static char* read_all(HANDLE h)
{
    size_t size = 0, capacity = 4096;
    char* text = malloc(capacity);
    for (;;)
    {
        if (size + 1024 > capacity)
            text = realloc(text, capacity *= 2);
        DWORD n = 0;
        if (!ReadFile(h, text + size, (DWORD)(capacity - size - 1), &n, NULL) || n == 0)
            break;
        size += n;
    }
    text[size] = '\0';
    return text;
}

/* Runs argv with stdout to a pipe and `extra` mappings; the output, and the exit code. */
static char* run(const char* path, const char* const* argv, const char* const* envp, const ni_fd_mapping* extra,
                 int32_t extra_count, int32_t flags, int32_t* code)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return NULL;
    ni_fd_mapping m[8] = { { w, 1 } };
    for (int32_t i = 0; i < extra_count; i++)
        m[i + 1] = extra[i];
    ni_process process;
    int32_t rc = ni_spawn(path, argv, envp, NULL, m, extra_count + 1, flags, &process);
    ni_close(w);
    if (!CHECK_OK(rc))
    {
        ni_close(r);
        return NULL;
    }
    char* text = read_all((HANDLE)r);
    ni_close(r);
    int32_t exited = 0;
    CHECK_OK(ni_wait(&process, 30000, &exited, code));
    CHECK_INT(exited, 1);
    CHECK_OK(ni_process_close(&process));
    return text;
}

/* The probe's line i (0-based) of `output`: its value as the child got it and the description. */
static int probe_line_at(const char* output, size_t i, unsigned long long* value, char* description, size_t size)
{
    const char* line = output;
    while (i-- > 0 && line != NULL)
        line = strchr(line, '\n') != NULL ? strchr(line, '\n') + 1 : NULL;
    if (line == NULL || *line == '\0')
        return 0;
    char* end;
    *value = strtoull(line, &end, 0);
    if (*end != ' ')
        return 0;
    const char* text = end + 1;
    size_t length = strcspn(text, "\n");
    snprintf(description, size, "%.*s", (int)length, text);
    return 1;
}

/* Whether the probe's line i describes `ours`: the child holds the very object under the value it was told. */
static int probe_line_is(const char* output, size_t i, ni_handle ours)
{
    static char mine[NI_TEST_PATH_MAX * 3 + 64], theirs[NI_TEST_PATH_MAX * 3 + 64];
    unsigned long long value;
    ni_test_describe_handle(ours, mine, sizeof mine);
    return strcmp(mine, "-") != 0 && probe_line_at(output, i, &value, theirs, sizeof theirs) && strcmp(mine, theirs) == 0;
}

static void child_gets_only_the_listed(void)
{
    /* Listed, non-inheritable here: a pipe end. Not listed, inheritable on purpose: another pipe end. */
    ni_handle ours_r, ours_w, control_r, control_w;
    if (!CHECK_OK(ni_pipe(&ours_r, &ours_w)) || !CHECK_OK(ni_pipe(&control_r, &control_w)))
        return;
    DWORD written;
    CHECK(WriteFile((HANDLE)ours_w, "marked", 6, &written, NULL)); /* "pipe 6": this pipe, not any pipe */
    CHECK_OK(ni_set_inheritable(control_r, 1));
    CHECK(ni_test_child_sees(control_r)); /* the control is visible to an ordinary child */

    char probe[MAX_PATH], ours_arg[32], control_arg[32];
    probe_path(probe);
    snprintf(ours_arg, sizeof ours_arg, "0x%llx", (unsigned long long)ours_r);
    snprintf(control_arg, sizeof control_arg, "0x%llx", (unsigned long long)control_r);
    const char* argv[] = { probe, ours_arg, control_arg, NULL };
    ni_fd_mapping m[] = { { ours_r, NI_SPAWN_SAME_NUMBER } };
    int32_t code = -1;
    char* output = run(probe, argv, NULL, m, 1, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        /* Line 0: ours, under the value the child got (its argument rewritten); line 1: the control's
           value, which the child must not hold. */
        unsigned long long value = 0;
        char seen[64] = "";
        if (!CHECK(probe_line_is(output, 0, ours_r)) |
            !CHECK(probe_line_at(output, 1, &value, seen, sizeof seen) && value == (unsigned long long)control_r &&
                   !ni_test_probe_holds(output, control_r)))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    CHECK_INT(ni_test_inherit_flag(ours_r), 0); /* never made inheritable here */
    ni_close(ours_r), ni_close(ours_w), ni_close(control_r), ni_close(control_w);
}

/* A passed handle's value on the command line, as a whole argument, in decimal or 0x hex (also in raw
   Arguments text), becomes the child's value; other numbers stay as they are. */
static void handle_values_are_rewritten(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    DWORD written;
    CHECK(WriteFile((HANDLE)w, "rewritten", 9, &written, NULL));
    char probe[MAX_PATH], decimal[32], hex[32], upper[32];
    probe_path(probe);
    snprintf(decimal, sizeof decimal, "%llu", (unsigned long long)r);
    snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)r);
    snprintf(upper, sizeof upper, "0X%llX", (unsigned long long)r);
    const char* argv[] = { probe, decimal, hex, upper, "1000001", NULL };
    ni_fd_mapping m[] = { { r, NI_SPAWN_SAME_NUMBER } };
    int32_t code = -1;
    char* output = run(probe, argv, NULL, m, 1, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        if (!CHECK(probe_line_is(output, 0, r)) | !CHECK(probe_line_is(output, 1, r)) |
            !CHECK(probe_line_is(output, 2, r)) | !CHECK(strstr(output, "\n1000001 -\n") != NULL) |
            !CHECK(strstr(output, "0X") != NULL && strstr(output, "\n0x") != NULL))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    char raw[96];
    snprintf(raw, sizeof raw, "%s \"%s\" 1000001", hex, decimal);
    const char* raw_argv[] = { probe, raw, NULL };
    output = run(probe, raw_argv, NULL, m, 1, NI_SPAWN_RAW_ARGUMENTS, &code);
    if (CHECK(output != NULL))
    {
        if (!CHECK(probe_line_is(output, 0, r)) | !CHECK(probe_line_is(output, 1, r)) |
            !CHECK(strstr(output, "\n1000001 -\n") != NULL))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    ni_close(r), ni_close(w);
}

/* CreateProcessW wants the block sorted by name, case-insensitively; the caller's array stays as it was. */
static void environment_is_sorted(void)
{
    char self[MAX_PATH];
    self_path(self);
    const char* envp[] = { "zeta=1", "NI_SPAWN_ROLE=env", "b=2", "SystemRoot=C:\\windows", "A=3", "_under=4", "Alpha=5", NULL };
    const char* before[8];
    memcpy(before, envp, sizeof envp);
    const char* argv[] = { self, NULL };
    int32_t code = -1;
    char* output = run(self, argv, envp, NULL, 0, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        /* wine adds its own variables to the block and moves SystemRoot to its end: only the order of
           the others is ours. By uppercase code units: '_' (0x5F) after the letters, "A" before "Alpha". */
        char ordered[256] = "";
        for (const char* p = strchr(output, '['); p != NULL; p = strchr(p + 1, '['))
        {
            size_t length = strcspn(p, "]") + 1;
            static const char* const ours[] = { "[A]", "[Alpha]", "[b]", "[NI_SPAWN_ROLE]", "[zeta]", "[_under]" };
            for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
                if (strlen(ours[i]) == length && memcmp(p, ours[i], length) == 0)
                    strncat(ordered, p, length);
        }
        const char* expected = "[A][Alpha][b][NI_SPAWN_ROLE][zeta][_under]";
        if (!CHECK(strcmp(ordered, expected) == 0))
            fprintf(stderr, "got      %s\nexpected %s\n(the whole block: %s)\n", ordered, expected, output);
        free(output);
    }
    CHECK(memcmp(before, envp, sizeof envp) == 0);
}

static void argv_round_trips(void)
{
    char self[MAX_PATH];
    self_path(self);
    const char* envp[] = { "NI_SPAWN_ROLE=argv", "SystemRoot=C:\\windows", NULL };
    const char* argv[] = { self, "a b", "", "q\"uote", "back\\slash\\", "\\\"", "trail\\\\", "  ", "tab\there",
                           "x\\\\\"y", "\xc3\xbcn\xc3\xaf", NULL };
    int32_t code = -1;
    char* output = run(self, argv, envp, NULL, 0, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        char expected[1024] = "";
        for (size_t i = 1; argv[i] != NULL; i++)
            snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "[%s]", argv[i]);
        if (!CHECK(strcmp(output, expected) == 0))
            fprintf(stderr, "got      %s\nexpected %s\n", output, expected);
        free(output);
    }
    /* Raw arguments go through verbatim. */
    const char* raw[] = { self, "one \"two three\" four\\", NULL };
    output = run(self, raw, envp, NULL, 0, NI_SPAWN_RAW_ARGUMENTS, &code);
    if (CHECK(output != NULL))
    {
        if (!CHECK(strcmp(output, "[one][two three][four\\]") == 0))
            fprintf(stderr, "got %s\n", output);
        free(output);
    }
}

static void exit_codes(void)
{
    char self[MAX_PATH];
    self_path(self);
    const char* envp[] = { "NI_SPAWN_ROLE=exit", "SystemRoot=C:\\windows", NULL };
    const char* codes[] = { "0", "1", "255" };
    for (size_t i = 0; i < 3; i++)
    {
        const char* argv[] = { self, codes[i], NULL };
        ni_process process;
        if (!CHECK_OK(ni_spawn(self, argv, envp, NULL, NULL, 0, 0, &process)))
            continue;
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&process, 30000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, atoi(codes[i]));
        CHECK_OK(ni_process_close(&process));
    }
}

static void errors(void)
{
    const char* argv[] = { "x", NULL };
    ni_process process = { 1, 2, 3, 4 };
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "missing.exe");
    CHECK_RC(ni_spawn(missing, argv, NULL, NULL, NULL, 0, 0, &process), ERROR_FILE_NOT_FOUND);
    CHECK_INT(process.pid, 1);
    ni_fd_mapping elsewhere[] = { { (ni_handle)GetStdHandle(STD_OUTPUT_HANDLE), 7 } };
    CHECK_RC(ni_spawn(missing, argv, NULL, NULL, elsewhere, 1, 0, &process), ERROR_NOT_SUPPORTED);
    CHECK_RC(ni_spawn(missing, argv, NULL, NULL, NULL, 0, 0x100, &process), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_spawn(missing, NULL, NULL, NULL, NULL, 0, 0, &process), ERROR_INVALID_PARAMETER);
}

static void wait_timeout_and_kill(void)
{
    /* cmd's pause waits for a key on its stdin: a pipe whose write end only we hold and never use.
       Its prompt goes to a second pipe, so it can never read its own output back and end early. */
    ni_handle in_r, in_w, out_r, out_w;
    if (!CHECK_OK(ni_pipe(&in_r, &in_w)) || !CHECK_OK(ni_pipe(&out_r, &out_w)))
        return;
    const char* argv[] = { "C:\\windows\\system32\\cmd.exe", "/c", "pause", NULL };
    ni_fd_mapping m[] = { { in_r, 0 }, { out_w, 1 } };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, m, 2, NI_SPAWN_NO_WINDOW, &process)))
    {
        int32_t exited = -1, code = -1;
        CHECK_OK(ni_wait(&process, 100, &exited, &code));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_wait_for_exit(&process, 0, &exited));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_wait_for_exit(&process, 50, &exited));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_kill(&process, 9));
        CHECK_OK(ni_wait_for_exit(&process, -1, &exited));
        CHECK_INT(exited, 1);
        CHECK_OK(ni_wait(&process, 30000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, -1);
        CHECK_RC(ni_wait_for_exit(&process, -2, &exited), ERROR_INVALID_PARAMETER);
        CHECK_RC(ni_wait_for_exit(&process, 0, NULL), ERROR_INVALID_PARAMETER);
        CHECK_OK(ni_process_close(&process));
        CHECK_RC(ni_wait_for_exit(&process, 0, &exited), ERROR_INVALID_PARAMETER); /* closed: no handle */
        CHECK_RC(ni_wait_for_exit(NULL, 0, &exited), ERROR_INVALID_PARAMETER);
    }
    ni_close(in_r), ni_close(in_w), ni_close(out_r), ni_close(out_w);
}

/*
 * The helper process lives as long as this process, and so do its two handles here (the process and
 * the job that ends it): started before the first case, they do not count as any case's leak. It is
 * started by what starts it in real use, a spawn that passes a handle.
 */
static void warm_up(void)
{
    char self[MAX_PATH];
    self_path(self);
    const char* argv[] = { self, "0", NULL };
    const char* envp[] = { "NI_SPAWN_ROLE=exit", "SystemRoot=C:\\windows", NULL };
    ni_handle r, w;
    if (ni_pipe(&r, &w) != 0)
        return;
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    if (ni_spawn(self, argv, envp, NULL, m, 1, 0, &process) == 0)
    {
        int32_t exited, code;
        ni_wait(&process, 30000, &exited, &code);
        ni_process_close(&process);
    }
    ni_close(r), ni_close(w);
}

/* ---- The reverse race: another thread's CreateProcess(bInheritHandles=TRUE) without a list. ---- */

struct racer
{
    const ni_handle* watched; /* our mapped handles, whose values the racer's children are asked about */
    size_t watched_count;
    volatile LONG stop;
    volatile LONG children, leaks;
};

/* As Process.Start: CreateProcessW with bInheritHandles=TRUE and no handle list, in a loop. Each child
   (the probe) says what it holds under our mapped handles' values. */
static DWORD WINAPI race(void* parameter)
{
    struct racer* racer = parameter;
    while (!racer->stop)
    {
        char* output = ni_test_probe(racer->watched, racer->watched_count);
        if (output == NULL)
            break;
        for (size_t i = 0; i < racer->watched_count; i++)
        {
            if (ni_test_probe_holds(output, racer->watched[i]))
                InterlockedIncrement(&racer->leaks);
        }
        InterlockedIncrement(&racer->children);
        free(output);
    }
    return 0;
}

/* What ni_spawn did before the helper: each listed handle inheritable for the CreateProcessW call only. */
static int32_t spawn_the_old_way(const char* self, ni_handle in, ni_handle extra, ni_process* result)
{
    wchar_t line[MAX_PATH + 8];
    swprintf(line, sizeof line / sizeof line[0], L"\"%hs\" 0", self);
    HANDLE list[2] = { (HANDLE)in, (HANDLE)extra };
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attributes = malloc(size);
    if (attributes == NULL || !InitializeProcThreadAttributeList(attributes, 1, 0, &size) ||
        !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, sizeof list, NULL, NULL))
    {
        free(attributes);
        return (int32_t)GetLastError();
    }
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = (HANDLE)in;
    si.lpAttributeList = attributes;
    static wchar_t env[] = L"NI_SPAWN_ROLE=exit\0SystemRoot=C:\\windows\0";
    PROCESS_INFORMATION pi;
    SetHandleInformation((HANDLE)in, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation((HANDLE)extra, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    BOOL ok = CreateProcessW(NULL, line, NULL, NULL, TRUE, EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT, env,
                             NULL, &si.StartupInfo, &pi);
    DWORD error = GetLastError();
    SetHandleInformation((HANDLE)in, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation((HANDLE)extra, HANDLE_FLAG_INHERIT, 0);
    DeleteProcThreadAttributeList(attributes);
    free(attributes);
    if (!ok)
        return (int32_t)error;
    CloseHandle(pi.hThread);
    result->pid = pi.dwProcessId;
    result->handle = (ni_handle)pi.hProcess;
    return 0;
}

/* Spawns the way `old_way` says until `deadline` (or, for the old way, the first leak) while the racer
   runs; the racer's leak count. */
static LONG race_phase(int old_way, ni_handle in, ni_handle extra, DWORD milliseconds, LONG* children, int* spawns)
{
    char self[MAX_PATH];
    self_path(self);
    ni_handle watched[2] = { in, extra };
    struct racer racer = { watched, 2, 0, 0, 0 };
    HANDLE thread = CreateThread(NULL, 0, race, &racer, 0, NULL);
    if (!CHECK(thread != NULL))
        return 0;
    const char* argv[] = { self, "0", NULL };
    const char* envp[] = { "NI_SPAWN_ROLE=exit", "SystemRoot=C:\\windows", NULL };
    ni_fd_mapping m[] = { { in, 0 }, { extra, NI_SPAWN_SAME_NUMBER } };
    ULONGLONG end = GetTickCount64() + milliseconds;
    *spawns = 0;
    while (GetTickCount64() < end && !(old_way && racer.leaks > 0))
    {
        ni_process process;
        int32_t rc = old_way ? spawn_the_old_way(self, in, extra, &process) : ni_spawn(self, argv, envp, NULL, m, 2, 0, &process);
        if (!CHECK_OK(rc))
            break;
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&process, 30000, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
        ++*spawns;
    }
    racer.stop = 1;
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
    *children = racer.children;
    return racer.leaks;
}

static void process_start_never_gets_mapped_handles(void)
{
    /* Two pipes with distinct contents, so that "pipe 5" / "pipe 9" in a child can only be these. */
    ni_handle in_r, in_w, extra_r, extra_w;
    if (!CHECK_OK(ni_pipe(&in_r, &in_w)) || !CHECK_OK(ni_pipe(&extra_r, &extra_w)))
        return;
    DWORD written;
    CHECK(WriteFile((HANDLE)in_w, "stdin", 5, &written, NULL));
    CHECK(WriteFile((HANDLE)extra_w, "extra one", 9, &written, NULL));

    LONG children = 0;
    int spawns = 0;
    LONG leaks = race_phase(0, in_r, extra_r, 6000, &children, &spawns);
    printf("ni_spawn: %d spawns, %ld racing children, %ld leaks\n", spawns, (long)children, (long)leaks);
    CHECK(spawns > 5 && children > 5); /* the race ran */
    CHECK_INT(leaks, 0);

    /* The negative control: the same race against the old way must leak, or this test proves nothing. */
    leaks = race_phase(1, in_r, extra_r, 30000, &children, &spawns);
    printf("old way: %d spawns, %ld racing children, %ld leaks\n", spawns, (long)children, (long)leaks);
    if (!CHECK(leaks > 0))
        fprintf(stderr, "the old way never leaked into %ld racing children: the race was not exercised\n", (long)children);
    CHECK_INT(ni_test_inherit_flag(in_r), 0);
    CHECK_INT(ni_test_inherit_flag(extra_r), 0);
    ni_close(in_r), ni_close(in_w), ni_close(extra_r), ni_close(extra_w);
}

NI_TEST_MAIN(NI_TEST(child_gets_only_the_listed), NI_TEST(handle_values_are_rewritten), NI_TEST(environment_is_sorted),
             NI_TEST(argv_round_trips), NI_TEST(exit_codes), NI_TEST(errors), NI_TEST(wait_timeout_and_kill),
             NI_TEST(process_start_never_gets_mapped_handles))
