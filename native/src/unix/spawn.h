/*
 * What the three spawning files share: spawn.c (the parent: ni_spawn, ni_process_resume), spawn_child.c (the
 * child between clone and execve) and spawn_thread.c (the thread that starts NI_SPAWN_KILL_ON_PARENT_EXIT
 * children). The mechanism: docs/architecture.md, "Spawning".
 */
#ifndef NI_SPAWN_H
#define NI_SPAWN_H

#include "unix.h"

#include <signal.h>

/* "LISTEN_PID=" and room for any pid and the NUL: the environment entry the child completes. */
#define NI_LISTEN_PID_NAME "LISTEN_PID="
#define NI_LISTEN_PID_ROOM 32

/* Everything the child needs, prepared by the parent: the child allocates nothing. */
struct spawn_args
{
    const char* path;
    char* const* argv;
    char* const* envp;
    const char* cwd;
    const ni_fd_mapping* mappings; /* the caller's (a terminal's as three), and what NI_SPAWN_INHERIT_STDIO adds */
    int32_t count;
    int* targets;     /* per mapping: the number in the child */
    int* temps;       /* per mapping: its temporary copy in the child (written by the child) */
    int* keep;        /* the targets ascending, and one more slot: the child adds its report channel */
    int report_fd;    /* the child's end of the close-on-exec report channel (a pipe; with NI_SPAWN_SUSPENDED a
                         socket that also carries the resume), or -1: the report goes to `error` */
    int own_below;    /* >= 0: the child starts on our descriptor table and first takes its own, of the numbers
                         below this (the highest source + 1: ni_sys_own_descriptors); -1: it starts on a copy */
    volatile int32_t error; /* without a report channel: the errno the child failed with, read once it exited */
    int flags;        /* NI_SPAWN_* */
    int terminal;     /* a NI_SPAWN_TERMINAL mapping: 0, 1 and 2 are that terminal */
    pid_t parent;     /* our pid, which NI_SPAWN_KILL_ON_PARENT_EXIT checks the child's parent against */
    char* listen_pid; /* NI_SPAWN_LISTEN_PID: where in the child's environment its pid goes, else NULL */
    sigset_t old_mask; /* the caller's signal mask, which the child gets back before execve */
};

/* The child: does what `arg` (a struct spawn_args) asks, then execve; any failure goes to the report channel
   (or `error`) as an errno and the child exits 127. With NI_SPAWN_SUSPENDED it first reports 0 (ready) and waits for one
   byte on that channel; end of file instead: it exits 127 without execve. */
int ni_spawn_child_main(void* arg);

/* ni_sys_start_child(child, arg, how) on the library's spawning thread, which lives as long as the process
   (PR_SET_PDEATHSIG fires when the creating thread exits); the calling thread waits for it. */
int32_t ni_spawn_on_lasting_thread(int (*child)(void*), void* arg, int how, pid_t* pid);

#endif
