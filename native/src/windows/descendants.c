/*
 * ni_kill_tree for a child without a job of its own (job.c): the child and its descendants by parent process id,
 * from process snapshots, as Process.Kill(true) finds them on Windows. Each process found is terminated at once
 * (so it starts no more) and its handle kept until the end, so that its id names nobody else meanwhile; a process
 * counts as a child of a member only if it was created after that member (an older process whose parent had the same
 * id before is not). Snapshots are taken again until one finds nothing new. Out of reach: a descendant whose parent
 * had already ended before the walk found it (nothing then ties it to the tree), and processes this one may not open.
 */
#include "win.h"

#include <stdlib.h>
#include <tlhelp32.h>

struct member
{
    DWORD pid;
    ULONGLONG created;
    HANDLE handle;
};

struct tree
{
    struct member* members;
    size_t count, capacity;
};

static ULONGLONG creation_time(HANDLE process)
{
    FILETIME created, exited, kernel, user;
    if (!GetProcessTimes(process, &created, &exited, &kernel, &user))
        return 0;
    return ((ULONGLONG)created.dwHighDateTime << 32) | created.dwLowDateTime;
}

static const struct member* find(const struct tree* t, DWORD pid)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->members[i].pid == pid)
            return &t->members[i];
    return NULL;
}

static DWORD add(struct tree* t, DWORD pid, ULONGLONG created, HANDLE handle)
{
    if (t->count == t->capacity)
    {
        size_t capacity = t->capacity == 0 ? 16 : t->capacity * 2;
        struct member* grown = realloc(t->members, capacity * sizeof *grown);
        if (grown == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        t->members = grown;
        t->capacity = capacity;
    }
    t->members[t->count].pid = pid;
    t->members[t->count].created = created;
    t->members[t->count].handle = handle;
    t->count++;
    return 0;
}

/* Takes in (terminated) every process of a snapshot whose parent is a member and that was created after it.
   *grew says whether any was new; 0 or a Win32 error. */
static DWORD one_pass(struct tree* t, int* grew)
{
    *grew = 0;
    HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snapshot == INVALID_HANDLE_VALUE)
        return GetLastError();
    PROCESSENTRY32W entry;
    entry.dwSize = sizeof entry;
    DWORD error = 0;
    for (BOOL more = Process32FirstW(snapshot, &entry); more && error == 0; more = Process32NextW(snapshot, &entry))
    {
        const struct member* parent = find(t, entry.th32ParentProcessID);
        if (parent == NULL || find(t, entry.th32ProcessID) != NULL)
            continue;
        HANDLE process = OpenProcess(PROCESS_TERMINATE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, entry.th32ProcessID);
        if (process == NULL)
            continue; /* gone, or not ours to end */
        ULONGLONG created = creation_time(process);
        if (created < parent->created)
        {
            CloseHandle(process); /* older than its supposed parent: the parent's id was someone else's then */
            continue;
        }
        TerminateProcess(process, (UINT)-1);
        if ((error = add(t, entry.th32ProcessID, created, process)) != 0)
            CloseHandle(process);
        *grew = 1;
    }
    CloseHandle(snapshot);
    return error;
}

int32_t ni_win_kill_descendants(const ni_process* process, int* reached)
{
    struct tree t = { NULL, 0, 0 };
    *reached = 0;
    DWORD error = add(&t, (DWORD)process->pid, creation_time((HANDLE)process->handle), NULL);
    int grew = 1;
    /* A bound on the passes, for a tree that keeps starting processes faster than they are ended. */
    for (int pass = 0; error == 0 && grew && pass < 1000; pass++)
        error = one_pass(&t, &grew);
    *reached = t.count > 1;
    for (size_t i = 1; i < t.count; i++)
    {
        WaitForSingleObject(t.members[i].handle, 5000); /* ended before this returns, as the job's are */
        CloseHandle(t.members[i].handle);
    }
    free(t.members);
    return (int32_t)error;
}
