/* The child the Windows tests start with bInheritHandles=TRUE. For each handle value on its command
   line it prints "<value> <description>" (ni_test_describe_handle): "-" unless this process holds a
   handle of that value, else what the handle is, so the test can tell its own object from a
   coincidence. */
#include "ni_test.h"

#include <winsock2.h>
#include <windows.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>

int main(int argc, char** argv)
{
    WSADATA data;
    if (WSAStartup(MAKEWORD(2, 2), &data) != 0)
    {
        fprintf(stderr, "ni_handleprobe: WSAStartup failed\n");
        return 1;
    }
    _setmode(_fileno(stdout), _O_BINARY); /* "\n", not "\r\n", as the test parses it */
    for (int i = 1; i < argc; i++)
    {
        char* end;
        unsigned long long value = strtoull(argv[i], &end, 0);
        if (*end != '\0')
        {
            fprintf(stderr, "ni_handleprobe: not a handle value: %s\n", argv[i]);
            return 2;
        }
        static char description[NI_TEST_PATH_MAX * 3 + 64];
        ni_test_describe_handle((ni_handle)value, description, sizeof description);
        printf("%s %s\n", argv[i], description);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
