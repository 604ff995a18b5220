/* ni_can_execute on Win32: Windows runs any file CreateProcessW accepts, so a PATH search takes any file that exists. */
#include "win.h"

#include <stdlib.h>

int32_t ni_can_execute(const char* path, int32_t* executable)
{
    if (path == NULL || executable == NULL)
        return ERROR_INVALID_PARAMETER;
    wchar_t* wide = NULL;
    DWORD rc = ni_win_path(path, &wide);
    if (rc != 0)
        return (int32_t)rc;
    DWORD attributes = GetFileAttributesW(wide);
    free(wide);
    *executable = attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY) == 0;
    return 0;
}
