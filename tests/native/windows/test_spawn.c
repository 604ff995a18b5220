/* ni_spawn on Windows: the handle list, the command-line quoting, exit codes and errors. */
#include "ni_test.h"

#include <windows.h>
#include <stdlib.h>
#include <string.h>

/* The test binary doubles as a child: NI_SPAWN_ROLE=argv prints its arguments as CommandLineToArgvW
   splits them, "[a][b]..." in UTF-8; NI_SPAWN_ROLE=exit exits with the code in argv[1]. */
typedef LPWSTR* (WINAPI* split_fn)(LPCWSTR, int*);

__attribute__((constructor)) static void child_role(void)
{
    char role[16];
    DWORD n = GetEnvironmentVariableA("NI_SPAWN_ROLE", role, sizeof role);
    if (n == 0 || n >= sizeof role)
        return;
    split_fn split = (split_fn)(void (*)(void))GetProcAddress(LoadLibraryA("shell32.dll"), "CommandLineToArgvW");
    int argc = 0;
    LPWSTR* argv = split != NULL ? split(GetCommandLineW(), &argc) : NULL;
    if (argv == NULL)
        ExitProcess(90);
    if (strcmp(role, "exit") == 0)
        ExitProcess(argc > 1 ? (UINT)_wtoi(argv[1]) : 91);
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    for (int i = 1; i < argc; i++)
    {
        char text[4096];
        int length = WideCharToMultiByte(CP_UTF8, 0, argv[i], -1, text + 1, (int)sizeof text - 3, NULL, NULL);
        if (length <= 0)
            ExitProcess(92);
        text[0] = '[';
        text[length] = ']';
        DWORD written;
        WriteFile(out, text, (DWORD)length + 1, &written, NULL);
    }
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

static void child_gets_only_the_listed(void)
{
    /* Listed, non-inheritable here: a pipe end. Not listed, inheritable on purpose: another pipe end. */
    ni_handle ours_r, ours_w, control_r, control_w;
    if (!CHECK_OK(ni_pipe(&ours_r, &ours_w)) || !CHECK_OK(ni_pipe(&control_r, &control_w)))
        return;
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
        if (!CHECK(ni_test_probe_holds(output, ours_r)) | !CHECK(!ni_test_probe_holds(output, control_r)))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    int32_t inheritable = -1;
    CHECK_OK(ni_get_inheritable(ours_r, &inheritable));
    CHECK_INT(inheritable, 0); /* restored after the call */
    ni_close(ours_r), ni_close(ours_w), ni_close(control_r), ni_close(control_w);
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
    ni_process process = { 1, 2 };
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
        CHECK_OK(ni_kill(&process, 9));
        CHECK_OK(ni_wait(&process, 30000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, -1);
        CHECK_OK(ni_process_close(&process));
    }
    ni_close(in_r), ni_close(in_w), ni_close(out_r), ni_close(out_w);
}

NI_TEST_MAIN(NI_TEST(child_gets_only_the_listed), NI_TEST(argv_round_trips), NI_TEST(exit_codes), NI_TEST(errors),
             NI_TEST(wait_timeout_and_kill))
