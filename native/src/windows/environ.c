/* ni_unsetenv on Win32: the variable removed from the process's environment block (what GetEnvironmentVariableW and
   a child started with envp NULL read). */
#include "win.h"

#include <stdlib.h>
#include <string.h>

int32_t ni_unsetenv(const char* name)
{
    if (name == NULL || name[0] == '\0' || strchr(name, '=') != NULL)
        return ERROR_INVALID_PARAMETER;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, NULL, 0);
    if (n <= 0)
        return ERROR_NO_UNICODE_TRANSLATION;
    wchar_t* wide = malloc(sizeof(wchar_t) * (size_t)n);
    if (wide == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, wide, n);
    DWORD error = SetEnvironmentVariableW(wide, NULL) ? 0 : GetLastError();
    free(wide);
    return error == ERROR_ENVVAR_NOT_FOUND ? 0 : (int32_t)error; /* not there: nothing to remove */
}
