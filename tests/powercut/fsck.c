/*
 * The check a file system without a journal gets at boot after a crash: `e2fsck -fy` on the crash state
 * (through its snapshot, so that the repairs do not reach the replay) before it is mounted. The guest's
 * e2fsck is the host's, copied into the initramfs with its shared libraries (run.sh).
 */
#define _GNU_SOURCE
#include "powercut.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FSCK_PATH "/sbin/e2fsck"
#define REPAIRS_SHOWN 5 /* the states with repaired files whose repairs are printed (PC-FSCK lines) */

/* Runs e2fsck on `device` with its stdout and stderr into `out` (the rest discarded); its exit code, or -1. */
static int run_e2fsck(const char* device, char* out, size_t size)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0)
    {
        dup2(pipe_fds[1], 1);
        dup2(pipe_fds[1], 2);
        char* const argv[] = { "e2fsck", "-fy", (char*)device, NULL };
        char* const envp[] = { "PATH=/bin:/sbin", NULL };
        execve(FSCK_PATH, argv, envp);
        fprintf(stderr, "exec %s: %s\n", FSCK_PATH, strerror(errno));
        _exit(127);
    }
    close(pipe_fds[1]);
    size_t length = 0;
    char rest[4096];
    for (;;)
    {
        int room = length + 1 < size;
        ssize_t n = read(pipe_fds[0], room ? out + length : rest, room ? size - 1 - length : sizeof rest);
        if (n <= 0)
            break;
        if (room)
            length += (size_t)n;
    }
    out[length] = '\0';
    close(pipe_fds[0]);
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* One of e2fsck's routine lines, not a repair: its version, a pass's title, or the summary lines that start
   with the device's name. */
static int routine(const char* line, const char* device)
{
    size_t length = strlen(device);
    return strncmp(line, "Pass ", 5) == 0 || strncmp(line, "e2fsck ", 7) == 0 ||
           (strncmp(line, device, length) == 0 && line[length] == ':');
}

/* Whether e2fsck repaired a file or a directory: a repair under the title of passes 1 to 4, not only pass 5's
   (the bitmaps and the free counts, which no fsync writes without a journal). */
static int repaired_files(const char* text, const char* device)
{
    int pass = 0;
    const char* line = text;
    while (*line != '\0')
    {
        const char* end = strchrnul(line, '\n');
        if (sscanf(line, "Pass %d:", &pass) != 1 && pass >= 1 && pass <= 4 && end > line && !routine(line, device))
            return 1;
        line = *end == '\n' ? end + 1 : end;
    }
    return 0;
}

/* Prints up to `max` lines of `text` as "<prefix> <where>: <line>", only the repairs if `device` is given. */
static void print_lines(const char* prefix, const char* where, const char* text, int max, const char* device)
{
    char* copy = strdup(text);
    char* save = NULL;
    for (char* line = copy != NULL ? strtok_r(copy, "\n", &save) : NULL; line != NULL && max > 0;
         line = strtok_r(NULL, "\n", &save))
    {
        if (device == NULL || !routine(line, device))
        {
            printf("%s %s: %s\n", prefix, where, line);
            max--;
        }
    }
    free(copy);
}

int pc_fsck(const char* device, struct pc_stats* stats, const char* where)
{
    static char out[16384];
    int code = run_e2fsck(device, out, sizeof out);
    if (code == 0)
        return 0;
    if (code == 1 || code == 2) /* errors corrected */
    {
        stats->repaired++;
        int files = repaired_files(out, device);
        stats->repaired_files += files;
        if (files ? stats->repaired_files <= REPAIRS_SHOWN : stats->repaired - stats->repaired_files == 1)
            print_lines("PC-FSCK", where, out, 12, device);
        return 0;
    }
    printf("PC-VIOLATION %s: e2fsck -fy exited with %d:\n", where, code);
    print_lines("PC-VIOLATION", where, out, 12, NULL);
    return -1;
}
