/*
 * The thread that starts NI_SPAWN_KILL_ON_PARENT_EXIT children. Linux sends the parent-death signal when the
 * *thread* that created the child exits, not the process: a child started from a thread-pool thread that
 * later retires would be killed with it. So such children are created by one thread the library starts on
 * first use and keeps for the life of the process; the calling thread hands the request over and waits.
 * Requests are served one at a time, in order. The thread holds no descriptor.
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <pthread.h>
#include <stddef.h>

struct request
{
    int (*child)(void*);
    void* arg;
    int how;
    pid_t pid;
    int32_t error;
    int done;
    struct request* next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_queued = PTHREAD_COND_INITIALIZER;   /* the thread waits for requests */
static pthread_cond_t g_finished = PTHREAD_COND_INITIALIZER; /* callers wait for theirs to be done */
static struct request* g_first;
static struct request* g_last;
static int g_running;          /* the thread exists in this process */
static int g_handlers_registered; /* pthread_atfork done (the handlers carry over to a forked child) */

/* A fork copies the state but not the thread: the child process starts afresh. The lock is held across the
   fork so that the copy is consistent; the child gets new condition variables (the copies may count waiters
   that do not exist there) and an empty queue, and starts its own thread when it needs one. */
static void before_fork(void)
{
    pthread_mutex_lock(&g_lock);
}

static void after_fork_in_parent(void)
{
    pthread_mutex_unlock(&g_lock);
}

static void after_fork_in_child(void)
{
    static const pthread_mutex_t fresh_lock = PTHREAD_MUTEX_INITIALIZER;
    static const pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
    g_queued = fresh_cond;
    g_finished = fresh_cond;
    g_first = g_last = NULL;
    g_running = 0;
    g_lock = fresh_lock;
}

static void* serve(void* unused)
{
    (void)unused;
    ni_sys_name_thread("noinherit spawn"); /* not the name of whichever thread started it (.NET TP Worker...) */
    pthread_mutex_lock(&g_lock);
    for (;;)
    {
        while (g_first == NULL)
            pthread_cond_wait(&g_queued, &g_lock);
        struct request* r = g_first;
        g_first = r->next;
        if (g_first == NULL)
            g_last = NULL;
        pthread_mutex_unlock(&g_lock);
        r->error = ni_sys_start_child(r->child, r->arg, r->how, &r->pid);
        pthread_mutex_lock(&g_lock);
        r->done = 1;
        pthread_cond_broadcast(&g_finished);
    }
    return NULL;
}

int32_t ni_spawn_on_lasting_thread(int (*child)(void*), void* arg, int how, pid_t* pid)
{
    struct request r = { child, arg, how, 0, 0, 0, NULL };
    pthread_mutex_lock(&g_lock);
    int32_t error = 0;
    if (!g_handlers_registered && (error = pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child)) == 0)
        g_handlers_registered = 1;
    if (error == 0 && !g_running && (error = ni_unix_start_thread(serve, NULL)) == 0)
        g_running = 1;
    if (error == 0)
    {
        if (g_last != NULL)
            g_last->next = &r;
        else
            g_first = &r;
        g_last = &r;
        pthread_cond_signal(&g_queued);
        while (!r.done)
            pthread_cond_wait(&g_finished, &g_lock);
        error = r.error;
    }
    pthread_mutex_unlock(&g_lock);
    if (error == 0)
        *pid = r.pid;
    return error;
}
