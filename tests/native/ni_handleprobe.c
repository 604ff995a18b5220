/* The child the Windows tests start. For each handle value on its command line it prints
   "<value> <description>" (ni_test_describe_handle): "-" unless this process holds a handle of that
   value, else what the handle is, so the test can tell its own object from a coincidence.
   The managed ChildProcess tests also use it as the small Windows program they need, by its first
   argument:
     --args A B ...    prints its arguments as CommandLineToArgvW splits them: "[A][B]...", UTF-8
     --exit N          exits with N
     --wait            reads its standard input to the end, then exits 0
     --report NAME     reads a line from standard input, prints "<line>|<%NAME%>|<current directory>"
                       and writes "oops" to standard error
     --accept VALUE    accepts one connection on the listening socket VALUE, sends "accepted"
     --sleep SECONDS   sleeps, then exits 0; a console's Ctrl+C or Ctrl+Break does not end it. The tests' Windows
                       sleeper: ping.exe was, until a kill of ping while its echo was in flight deadlocked wine 8's
                       nsiproxy.sys (ICMP) in the winedevice.exe that also serves mountmgr.sys, and so wedged every
                       later file call that asks for a volume (GetFileInformationByHandle) in the whole prefix. */
#include "ni_test.h"

#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

/* UTF-8 to standard output. */
static void put_utf8(const wchar_t* text)
{
    char utf8[8192];
    int n = WideCharToMultiByte(CP_UTF8, 0, text, -1, utf8, (int)sizeof utf8, NULL, NULL);
    if (n > 1)
        fwrite(utf8, 1, (size_t)n - 1, stdout);
}

static int report(const char* name)
{
    char line[1024] = "";
    if (fgets(line, sizeof line, stdin) != NULL)
        line[strcspn(line, "\r\n")] = '\0';
    wchar_t wide_name[256], value[1024] = L"", cwd[MAX_PATH] = L"";
    MultiByteToWideChar(CP_UTF8, 0, name, -1, wide_name, 256);
    GetEnvironmentVariableW(wide_name, value, 1024);
    GetCurrentDirectoryW(MAX_PATH, cwd);
    printf("%s|", line);
    put_utf8(value);
    fputc('|', stdout);
    put_utf8(cwd);
    fputc('\n', stdout);
    fputs("oops\n", stderr);
    return 0;
}

static BOOL WINAPI ignore_console_event(DWORD event)
{
    (void)event;
    return TRUE; /* handled: the process goes on, as ping does after Ctrl+Break */
}

static int accept_one(const char* value)
{
    SOCKET listener = (SOCKET)strtoull(value, NULL, 0);
    SOCKET connection = accept(listener, NULL, NULL);
    if (connection == INVALID_SOCKET)
    {
        fprintf(stderr, "ni_handleprobe: accept on %s failed: %d\n", value, WSAGetLastError());
        return 4;
    }
    send(connection, "accepted", 8, 0);
    shutdown(connection, SD_BOTH);
    closesocket(connection);
    return 0;
}

int main(int argc, char** argv)
{
    WSADATA data;
    if (WSAStartup(MAKEWORD(2, 2), &data) != 0)
    {
        fprintf(stderr, "ni_handleprobe: WSAStartup failed\n");
        return 1;
    }
    _setmode(_fileno(stdout), _O_BINARY); /* "\n", not "\r\n", as the tests parse it */
    if (argc > 1 && strcmp(argv[1], "--args") == 0)
        return ni_test_print_arguments(2);
    if (argc > 2 && strcmp(argv[1], "--exit") == 0)
        return atoi(argv[2]);
    if (argc > 1 && strcmp(argv[1], "--wait") == 0)
    {
        while (fgetc(stdin) != EOF)
        {
        }
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--report") == 0)
        return report(argv[2]);
    if (argc > 2 && strcmp(argv[1], "--accept") == 0)
        return accept_one(argv[2]);
    if (argc > 2 && strcmp(argv[1], "--sleep") == 0)
    {
        SetConsoleCtrlHandler(ignore_console_event, TRUE);
        Sleep((DWORD)atoi(argv[2]) * 1000);
        return 0;
    }
    for (int i = 1; i < argc; i++)
    {
        char* end;
        unsigned long long value = strtoull(argv[i], &end, 0);
        if (*end != '\0')
        {
            fprintf(stderr, "ni_handleprobe: not a handle value: %s\n", argv[i]);
            return 2;
        }
        static char description[NI_TEST_DESCRIPTION_MAX];
        ni_test_describe_handle((ni_handle)value, description, sizeof description);
        printf("%s %s\n", argv[i], description);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
