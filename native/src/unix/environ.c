/* ni_unsetenv on POSIX: unsetenv(3), which changes this process's environ (what getenv and a child started with
   envp NULL read). */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int32_t ni_unsetenv(const char* name)
{
    if (name == NULL || name[0] == '\0' || strchr(name, '=') != NULL)
        return EINVAL;
    return unsetenv(name) == 0 ? 0 : errno;
}
