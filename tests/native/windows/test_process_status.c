/* ni_wait_status, ni_signal_number and ni_can_execute on Windows: no signals (ni_kill terminates), and a PATH
   search takes any file that exists. */
#include "ni_test.h"

#include <windows.h>

static void signal_number_knows_only_kill(void)
{
    CHECK_INT(ni_signal_number(NI_SIGKILL), 9);
    CHECK_INT(ni_signal_number(NI_SIGTERM), 0);
    CHECK_INT(ni_signal_number(NI_SIGINT), 0);
    CHECK_INT(ni_signal_number(15), 0);
    CHECK_INT(ni_signal_number(0), 0);
}

static void wait_status_reports_no_signal(void)
{
    const char* exits[] = { "cmd.exe", "/c", "exit 7", NULL };
    ni_process process;
    int32_t exited = 0, code = -1, signal = -1;
    if (CHECK_OK(ni_spawn(NULL, exits, NULL, NULL, NULL, 0, 0, &process)))
    {
        CHECK_OK(ni_wait_status(&process, -1, &exited, &code, &signal));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 7);
        CHECK_INT(signal, 0);
        ni_process_close(&process);
    }
    const char* waits[] = { "cmd.exe", "/c", "ping -n 30 127.0.0.1 >NUL", NULL };
    if (CHECK_OK(ni_spawn(NULL, waits, NULL, NULL, NULL, 0, 0, &process)))
    {
        CHECK_OK(ni_kill(&process, ni_signal_number(NI_SIGKILL)));
        CHECK_OK(ni_wait_status(&process, -1, &exited, &code, &signal));
        CHECK_INT(code, -1); /* TerminateProcess's code */
        CHECK_INT(signal, 0);
        ni_process_close(&process);
    }
    CHECK_RC(ni_wait_status(&process, 0, &exited, &code, NULL), ERROR_INVALID_PARAMETER);
}

static void can_execute_takes_any_file(void)
{
    char file[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX];
    ni_test_path(file, "data.txt");
    ni_test_path(dir, "dir");
    ni_test_path(missing, "missing.exe");
    CHECK_INT(ni_test_write_file(file, "x", 1, 0644), 0);
    CHECK(CreateDirectoryA(dir, NULL));
    int32_t executable = -1;
    CHECK_OK(ni_can_execute(file, &executable));
    CHECK_INT(executable, 1);
    CHECK_OK(ni_can_execute(dir, &executable));
    CHECK_INT(executable, 0);
    CHECK_OK(ni_can_execute(missing, &executable));
    CHECK_INT(executable, 0);
    CHECK_RC(ni_can_execute(NULL, &executable), ERROR_INVALID_PARAMETER);
    RemoveDirectoryA(dir);
}

NI_TEST_MAIN(NI_TEST(signal_number_knows_only_kill),
             NI_TEST(wait_status_reports_no_signal),
             NI_TEST(can_execute_takes_any_file))
