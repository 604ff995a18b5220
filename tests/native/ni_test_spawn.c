/* Children of the test program itself, for the tests of ni_spawn and of what comes after it (waiting, killing,
   the process flags): the environment of a role, a run that collects the child's output and exit code, and,
   on Windows, the warm-up that makes what the library keeps for the life of the process exist before the
   first case counts its handles. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <sys/wait.h>
#endif

const char* const* ni_test_role_env(const char* role)
{
    static char variable[64];
    static const char* envp[] = { variable, "SystemRoot=C:\\windows", NULL };
    snprintf(variable, sizeof variable, "NI_TEST_ROLE=%s", role);
    return envp;
}

char* ni_test_run(const char* const* argv, const char* const* envp, const char* cwd, const ni_fd_mapping* extra,
                  int32_t extra_count, int32_t flags, int32_t* exit_code)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return NULL;
    ni_fd_mapping mappings[16] = { { w, 1 } };
    for (int32_t i = 0; i < extra_count && i < 15; i++)
        mappings[i + 1] = extra[i];
    ni_process process;
    int32_t rc = ni_spawn(argv[0], argv, envp, cwd, mappings, extra_count + 1, flags, &process);
    ni_close(w);
    if (!CHECK_OK(rc))
    {
        ni_close(r);
        return NULL;
    }
    int timed_out;
    char* output = ni_test_read_all(r, 20000, &timed_out);
    CHECK(!timed_out);
    ni_close(r);
    int32_t exited = 0;
    CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, exit_code));
    CHECK_INT(exited, 1);
    CHECK_OK(ni_process_close(&process));
    return output;
}

int32_t ni_test_start_role(const char* role, const char* const* args, ni_handle in, int32_t flags, ni_process* process)
{
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), args, argv);
    ni_fd_mapping m[] = { { in, 0 } };
    return ni_spawn(argv[0], argv, ni_test_role_env(role), NULL, m, in != NI_INVALID_HANDLE, flags, process);
}

int ni_test_start_reporting(const char* role, const char* const* args, int32_t flags, ni_handle* out,
                            ni_process* process)
{
    ni_handle w;
    if (!CHECK_OK(ni_pipe(out, &w)))
        return 0;
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), args, argv);
    ni_fd_mapping m[] = { { w, 1 } };
    int32_t rc = ni_spawn(argv[0], argv, ni_test_role_env(role), NULL, m, 1, flags, process);
    ni_close(w);
    if (!CHECK_OK(rc))
        ni_close(*out);
    return rc == 0;
}

char* ni_test_first_line(ni_handle out)
{
    int timed_out;
    char* line = ni_test_read_until(out, "\n", 10000, &timed_out);
    CHECK(!timed_out);
    for (char* cr; (cr = strchr(line, '\r')) != NULL;)
        memmove(cr, cr + 1, strlen(cr));
    return line;
}

#ifndef _WIN32
int ni_test_no_children_left(void)
{
    int status;
    return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}
#else
void ni_test_warm_up(int32_t flags)
{
    if (getenv("NI_TEST_ROLE") != NULL)
        return; /* a child in a role: no case runs here */
    const char* self = ni_test_self();
    const char* argv[] = { self, "0", NULL };
    ni_handle r, w;
    if (ni_pipe(&r, &w) != 0)
        return;
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    if (ni_spawn(self, argv, ni_test_role_env("exit"), NULL, m, 1, flags, &process) == 0)
    {
        int32_t exited, code;
        ni_wait(&process, 30000, &exited, &code);
        ni_process_close(&process);
    }
    ni_close(r), ni_close(w);
}

HANDLE ni_test_open_pid(long long pid)
{
    return pid > 0 ? OpenProcess(SYNCHRONIZE | PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid)
                   : NULL;
}

void ni_test_end_process(HANDLE process)
{
    if (process == NULL)
        return;
    TerminateProcess(process, 1);
    WaitForSingleObject(process, 10000);
    CloseHandle(process);
}
#endif
