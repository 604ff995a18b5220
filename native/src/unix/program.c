/*
 * ni_can_execute: the test a PATH search applies to each candidate, by the permission bits alone, as the
 * caller's class for the file sees them (not access(2), which also consults ACLs and, for X_OK, the real
 * rather than the effective ids unless asked otherwise).
 */
#define _GNU_SOURCE
#include "unix.h"

#include <stdlib.h>
#include <unistd.h>

/* Whether this process is in the group `gid`: its effective group or one of its supplementary groups. */
static int in_group(gid_t gid)
{
    if (getegid() == gid)
        return 1;
    int count = getgroups(0, NULL);
    if (count <= 0)
        return 0;
    gid_t* groups = malloc((size_t)count * sizeof *groups);
    if (groups == NULL)
        return 0;
    count = getgroups(count, groups);
    int found = 0;
    for (int i = 0; i < count && !found; i++)
        found = groups[i] == gid;
    free(groups);
    return found;
}

int32_t ni_can_execute(const char* path, int32_t* executable)
{
    if (path == NULL || executable == NULL)
        return EINVAL;
    struct stat st;
    if (ni_sys_stat(path, &st) != 0 || S_ISDIR(st.st_mode))
    {
        *executable = 0;
        return 0;
    }
    const mode_t all = S_IXUSR | S_IXGRP | S_IXOTH;
    mode_t bits = st.st_mode & all;
    uid_t euid = geteuid();
    if (bits == 0 || bits == all || euid == 0)
        *executable = bits != 0; /* root may run a file that anyone may */
    else if (euid == st.st_uid)
        *executable = (bits & S_IXUSR) != 0;
    else if (in_group(st.st_gid))
        *executable = (bits & S_IXGRP) != 0;
    else
        *executable = (bits & S_IXOTH) != 0;
    return 0;
}
