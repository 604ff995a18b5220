/* The checker the tests start as a child: prints "<fd> <target>" for every descriptor it was
   started with, so a test sees exactly what a real child process inherits. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    DIR* dir = opendir("/proc/self/fd");
    if (dir == NULL)
    {
        perror("ni_fdlist: /proc/self/fd");
        return 1;
    }
    struct dirent* entry;
    while ((entry = readdir(dir)) != NULL)
    {
        int fd = atoi(entry->d_name);
        if (entry->d_name[0] == '.' || fd == dirfd(dir))
            continue;
        char target[PATH_MAX];
        ssize_t n = readlinkat(dirfd(dir), entry->d_name, target, sizeof target - 1);
        if (n < 0)
        {
            perror("ni_fdlist: readlink");
            return 1;
        }
        target[n] = '\0';
        printf("%d %s\n", fd, target);
    }
    closedir(dir);
    return fflush(stdout) == 0 ? 0 : 1;
}
