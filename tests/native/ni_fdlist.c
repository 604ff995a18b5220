/* The checker the POSIX tests start as a child: prints "<fd> <description>" (ni_test_describe_handle)
   for every descriptor it was started with, so a test sees exactly what a real child process inherits. */
#include "ni_test.h"

#include <dirent.h>
#include <stdlib.h>

#ifdef __linux__
#  define FD_DIR "/proc/self/fd"
#else
#  define FD_DIR "/dev/fd"
#endif

int main(void)
{
    DIR* dir = opendir(FD_DIR);
    if (dir == NULL)
    {
        perror("ni_fdlist: " FD_DIR);
        return 1;
    }
    struct dirent* entry;
    while ((entry = readdir(dir)) != NULL)
    {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] == '.' || fd == dirfd(dir))
            continue;
        char description[NI_TEST_DESCRIPTION_MAX];
        ni_test_describe_handle(fd, description, sizeof description);
        printf("%d %s\n", fd, description);
    }
    closedir(dir);
    return fflush(stdout) == 0 ? 0 : 1;
}
