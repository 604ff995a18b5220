/*
 * libFuzzer target over the input handling of the C ABI (noinherit.h), Linux.
 *
 * Each input is a little program: a byte picks the entry point, the next bytes its arguments (flag
 * words with random bits, paths, handle values, argument arrays, sizes). What every call must do,
 * checked here after each one, is what the header promises:
 *  - return 0 or a platform error code (a positive errno, never EINTR), and write its out-parameters
 *    only on success;
 *  - EINVAL for unknown flag bits and for NULL where a pointer is required, EBADF for a handle value
 *    that is no descriptor (including values above INT_MAX, which must never reach a real one);
 *  - everything it creates is close-on-exec;
 *  - no descriptor leaked or closed behind our back: the count of /proc/self/fd is the same after
 *    every input; ni_copyfile never leaves its temporary file; no child process is left (a failed
 *    ni_spawn reaps its child), and a successful one started a child that ran and exited 0.
 * A broken invariant aborts, which libFuzzer records as a crash with the input that did it.
 *
 * Safety: every path is inside a scratch directory made at start (".." components are defused and the
 * fixtures' symlinks point inside it), so nothing outside it is ever written; the only program ni_spawn
 * can start is /bin/true; ni_kill, ni_signal_group and ni_kill_tree only ever send signal 0, or SIGCONT to our
 * own /bin/true; ni_seal
 * only sets close-on-exec. Handle values that are descriptors are our own fixtures.
 */
#define _GNU_SOURCE
#include "noinherit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define FAIL(...)                                                   \
    do                                                              \
    {                                                               \
        fprintf(stderr, "fuzz_abi: invariant broken at line %d: ", __LINE__); \
        fprintf(stderr, __VA_ARGS__);                               \
        fputc('\n', stderr);                                        \
        abort();                                                    \
    } while (0)

/* The public flag words' known bits (the library's own masks are internal). */
#define OPEN_KNOWN (NI_O_ACCMODE | NI_O_CREAT | NI_O_EXCL | NI_O_TRUNC | NI_O_APPEND | NI_O_SYNC | NI_O_NOFOLLOW | \
                    NI_O_NOTDIR | NI_O_SHLOCK | NI_O_EXLOCK | NI_O_SHARE_READ | NI_O_SHARE_WRITE | NI_O_SHARE_DELETE | \
                    NI_O_DELETE_ON_CLOSE | NI_O_ASYNC | NI_O_RANDOM | NI_O_SEQUENTIAL)
#define SPAWN_KNOWN (NI_SPAWN_DEFAULT_SIGPIPE | NI_SPAWN_RAW_ARGUMENTS | NI_SPAWN_NO_WINDOW | NI_SPAWN_INHERIT_STDIO | \
                     NI_SPAWN_SUSPENDED | NI_SPAWN_NEW_PROCESS_GROUP | NI_SPAWN_DETACHED |                        \
                     NI_SPAWN_KILL_ON_PARENT_EXIT | NI_SPAWN_PROCESS_TREE | NI_SPAWN_LISTEN_PID)

/* ---- Reading the input: past its end everything reads as 0. ---- */

struct reader
{
    const uint8_t* p;
    size_t n;
};

static uint8_t u8(struct reader* r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint32_t u32(struct reader* r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)u8(r) << (8 * i);
    return v;
}

static uint64_t u64(struct reader* r)
{
    uint64_t low = u32(r);
    return low | (uint64_t)u32(r) << 32;
}

/* A flag word: the known bits chosen by the input, or any bits at all. */
static int32_t flag_word(struct reader* r, uint32_t known)
{
    uint8_t how = u8(r);
    uint32_t bits = u32(r);
    return (int32_t)(how & 1 ? bits : bits & known);
}

/* Up to `max` raw bytes of the input as a string: any byte, invalid UTF-8 included; an embedded NUL
   ends it early, as it would for any caller of a NUL-terminated API. */
static size_t raw_string(struct reader* r, char* out, size_t max)
{
    size_t length = u8(r);
    if (length > max)
        length = max;
    if (length > r->n)
        length = r->n;
    memcpy(out, r->p, length);
    out[length] = '\0';
    r->p += length;
    r->n -= length;
    return length;
}

/* ---- The scratch directory and its fixtures ---- */

static char g_scratch[PATH_MAX];
static size_t g_scratch_length;
static int g_fd_dir = -1; /* /proc/self/fd, kept open and rewound for each count */

struct fixture
{
    const char* name;
    const char* content; /* NULL: not a regular file */
};
static const struct fixture g_files[] = {
    { "file", "hello, world\n" },
    { "empty", "" },
    { "noexec", "#!/bin/true\n" },
    { "dir/inner", "inside\n" },
};
/* Every name that belongs in the scratch directory; anything else is removed after each input. */
static const char* const g_names[] = { "file", "empty", "noexec", "dir", "link", "dangling" };
/* Paths the input can pick besides its own: fixtures, missing names, a file used as a directory. */
static const char* const g_picks[] = { "file", "empty", "noexec", "dir", "dir/", "dir/inner", "link", "dangling",
                                       "missing", "dir/missing", "file/x", ".", "", "nowhere" };

/* Whether the fixture is still as written: rewriting an intact one would cost a flush on every input
   (ext4 writes a truncated file's data out on close). */
static int fixture_intact(const char* path, const struct fixture* f)
{
    char content[64];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    size_t length = strlen(f->content);
    int intact = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644 &&
                 st.st_size == (off_t)length && read(fd, content, sizeof content) == (ssize_t)length &&
                 memcmp(content, f->content, length) == 0;
    close(fd);
    return intact;
}

static void write_fixture(const struct fixture* f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", g_scratch, f->name);
    if (fixture_intact(path, f))
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || write(fd, f->content, strlen(f->content)) != (ssize_t)strlen(f->content) || fchmod(fd, 0644) != 0)
        FAIL("cannot write the fixture %s: %s", path, strerror(errno));
    close(fd);
}

/* The last components of the paths this input gave as copy destinations or to ni_open: a name the
   input chose itself may well start with ".ni-copy-". */
static char g_named[8][256];
static int g_named_count;

static void remember_name(const char* path)
{
    const char* slash = path != NULL ? strrchr(path, '/') : NULL;
    if (slash != NULL && g_named_count < 8)
        snprintf(g_named[g_named_count++], sizeof g_named[0], "%s", slash + 1);
}

static int was_named(const char* name)
{
    for (int i = 0; i < g_named_count; i++)
        if (strcmp(g_named[i], name) == 0)
            return 1;
    return 0;
}

/* Removes whatever an input created, failing on a temporary file that ni_copyfile left behind. */
static void sweep(const char* dir_path, int top)
{
    DIR* dir = opendir(dir_path);
    if (dir == NULL)
        FAIL("cannot list %s: %s", dir_path, strerror(errno));
    struct dirent* entry;
    while ((entry = readdir(dir)) != NULL)
    {
        const char* name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (strncmp(name, ".ni-copy-", 9) == 0 && !was_named(name))
            FAIL("ni_copyfile left its temporary file %s/%s", dir_path, name);
        int known = 0;
        for (size_t i = 0; top && i < sizeof g_names / sizeof g_names[0]; i++)
            known |= strcmp(name, g_names[i]) == 0;
        known |= !top && strcmp(name, "inner") == 0;
        if (!known && unlinkat(dirfd(dir), name, 0) != 0)
            FAIL("cannot remove %s/%s: %s", dir_path, name, strerror(errno));
    }
    closedir(dir);
}

static void reset_scratch(void)
{
    char path[PATH_MAX];
    sweep(g_scratch, 1);
    snprintf(path, sizeof path, "%s/dir", g_scratch);
    sweep(path, 0);
    for (size_t i = 0; i < sizeof g_files / sizeof g_files[0]; i++)
        write_fixture(&g_files[i]);
}

static int count_fds(void)
{
    char buffer[4096];
    int count = 0;
    long n;
    if (lseek(g_fd_dir, 0, SEEK_SET) != 0)
        FAIL("lseek /proc/self/fd: %s", strerror(errno));
    while ((n = syscall(SYS_getdents64, g_fd_dir, buffer, sizeof buffer)) > 0)
    {
        for (long offset = 0; offset < n;)
        {
            unsigned short length;
            memcpy(&length, buffer + offset + 16, sizeof length); /* d_reclen after d_ino, d_off */
            count += buffer[offset + 19] != '.';                 /* d_name after d_type */
            offset += length;
        }
    }
    if (n < 0)
        FAIL("getdents64 /proc/self/fd: %s", strerror(errno));
    return count;
}

/* The pids of this process's children, zombies included. Not waitpid(-1): the sanitizers' symbolizer
   (llvm-symbolizer, started when libFuzzer prints a new function) is a child that lives on, and is
   not ours to reap. */
static void list_children(char* out, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, out, size - 1) : -1;
    if (fd < 0 || n < 0)
        FAIL("cannot read %s: %s", path, strerror(errno));
    out[n] = '\0';
    close(fd);
}

/* ---- Handle values: our fixtures, and numbers that are no descriptor ---- */

enum { H_FILE, H_DIR, H_PIPE_READ, H_PIPE_WRITE, H_SOCKET, H_LISTENER, H_VALID_COUNT };
static int g_fds[H_VALID_COUNT];

static ni_handle invalid_handle(struct reader* r)
{
    switch (u8(r) % 8)
    {
        case 0: return NI_INVALID_HANDLE;
        case 1: return INTPTR_MIN;
        case 2: return INTPTR_MAX;
        case 3: return (ni_handle)INT_MAX;
        case 4: return (ni_handle)0x40000000 + (u32(r) & 0x3fffffff); /* above any RLIMIT_NOFILE */
        case 5: return -(ni_handle)(u32(r) | 2);
        case 6: return (ni_handle)0xffffffff;
        /* Our own descriptor plus 2^32 (or more): a cast to int would turn it into the real one. */
        default: return ((ni_handle)(u8(r) % 255 + 1) << 32) + g_fds[u8(r) % H_VALID_COUNT];
    }
}

/* Sets *valid to whether the handle is one of our descriptors. */
static ni_handle pick_handle(struct reader* r, int* valid)
{
    uint8_t which = u8(r);
    *valid = which % 2 == 0;
    return *valid ? (ni_handle)g_fds[(which / 2) % H_VALID_COUNT] : invalid_handle(r);
}

/* ---- Paths, always under the scratch directory ---- */

/* Turns every ".." component into "__", so that no path climbs out. */
static void defuse_dotdot(char* path)
{
    for (char* p = path; *p != '\0'; p++)
    {
        if ((p == path || p[-1] == '/') && p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
            p[0] = p[1] = '_';
    }
}

/* NULL, "", a fixture, the scratch dir plus the input's bytes, or a path around PATH_MAX. */
static const char* pick_path(struct reader* r, char* out, size_t size)
{
    char piece[256];
    uint8_t how = u8(r) % 8;
    switch (how)
    {
        case 0: return NULL;
        case 1: out[0] = '\0'; return out;
        case 2: case 3:
            snprintf(out, size, "%s/%s", g_scratch, g_picks[u8(r) % (sizeof g_picks / sizeof g_picks[0])]);
            return out;
        case 4:
        {
            /* Long: the input's piece repeated up to a length around PATH_MAX, and components longer
               than NAME_MAX when the piece has no '/'. */
            raw_string(r, piece, 64);
            size_t target = PATH_MAX - 256 + u8(r) * 2u, length = (size_t)snprintf(out, size, "%s/", g_scratch);
            if (piece[0] == '\0')
                strcpy(piece, "a");
            while (length + strlen(piece) < target && length + strlen(piece) < size - 1)
            {
                strcpy(out + length, piece);
                length += strlen(piece);
            }
            break;
        }
        default:
            raw_string(r, piece, 255);
            snprintf(out, size, "%s/%s", g_scratch, piece);
            break;
    }
    defuse_dotdot(out + g_scratch_length);
    return out;
}

/* ---- The checks shared by every call ---- */

static void check_code(const char* call, int32_t rc)
{
    if (rc < 0 || rc > 4095)
        FAIL("%s returned %d, which is no errno value", call, rc);
    if (rc == EINTR)
        FAIL("%s returned EINTR, which the library retries", call);
}

static void check_created(const char* call, ni_handle h)
{
    if (h < 0 || h > INT_MAX)
        FAIL("%s succeeded with the handle %lld", call, (long long)h);
    int flags = fcntl((int)h, F_GETFD);
    if (flags < 0 || !(flags & FD_CLOEXEC))
        FAIL("%s created fd %d without FD_CLOEXEC (flags %d)", call, (int)h, flags);
}

static void close_created(const char* call, ni_handle h)
{
    check_created(call, h);
    int32_t rc = ni_close(h);
    if (rc != 0)
        FAIL("ni_close of what %s created: %d", call, rc);
}

#define SENTINEL ((ni_handle)0x5eed5eed)

static void expect(const char* call, int32_t rc, int32_t expected)
{
    check_code(call, rc);
    if (rc != expected)
        FAIL("%s returned %d, expected %d", call, rc, expected);
}

/* ---- One operation per entry point ---- */

static void op_open(struct reader* r)
{
    char path[PATH_MAX + 512];
    const char* p = pick_path(r, path, sizeof path);
    int32_t flags = flag_word(r, OPEN_KNOWN);
    int32_t mode = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u32(r) & 07777);
    int null_result = u8(r) == 0xff;
    ni_handle h = SENTINEL;
    remember_name(p);
    int32_t rc = ni_open(p, flags, mode, null_result ? NULL : &h);
    check_code("ni_open", rc);
    int bad = p == NULL || null_result || (flags & ~OPEN_KNOWN) || (mode & ~07777) ||
              (flags & NI_O_ACCMODE) == NI_O_ACCMODE || ((flags & NI_O_SHLOCK) && (flags & NI_O_EXLOCK)) ||
              ((flags & NI_O_EXCL) && !(flags & NI_O_CREAT)) ||
              ((flags & NI_O_TRUNC) && (flags & NI_O_ACCMODE) == NI_O_RDONLY); /* truncating needs write access */
    if (bad)
        expect("ni_open (invalid arguments)", rc, EINVAL);
    else if (p[0] == '\0' && rc != ENOENT && rc != ENOTSUP)
        FAIL("ni_open(\"\") returned %d, expected ENOENT", rc);
    if (rc == 0)
        close_created("ni_open", h);
    else if (h != SENTINEL)
        FAIL("ni_open failed (%d) but wrote its result", rc);
}

static void op_socket(struct reader* r)
{
    int32_t family = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % 5);
    int32_t type = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % 7);
    int32_t protocol = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % 20);
    ni_handle h = SENTINEL;
    int null_result = u8(r) == 0xff;
    int32_t rc = ni_socket(family, type, protocol, null_result ? NULL : &h);
    check_code("ni_socket", rc);
    int known_family = family == NI_AF_UNIX || family == NI_AF_INET || family == NI_AF_INET6; /* not UNSPEC */
    int known_type = type == NI_SOCK_STREAM || type == NI_SOCK_DGRAM || type == NI_SOCK_RAW || type == NI_SOCK_SEQPACKET;
    if (null_result)
        expect("ni_socket(result NULL)", rc, EINVAL);
    else if (!known_family)
        expect("ni_socket(unknown family)", rc, EAFNOSUPPORT);
    else if (!known_type)
        expect("ni_socket(unknown type)", rc, EPROTOTYPE);
    if (rc == 0)
        close_created("ni_socket", h);
    else if (h != SENTINEL)
        FAIL("ni_socket failed (%d) but wrote its result", rc);
}

static void op_accept(struct reader* r)
{
    int valid;
    ni_handle listener = pick_handle(r, &valid);
    /* Sometimes a connection is waiting, so that the address path runs too. */
    int client = -1;
    if (u8(r) & 1)
    {
        struct sockaddr_un address = { .sun_family = AF_UNIX };
        socklen_t length = sizeof address;
        client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (client < 0 || getsockname(g_fds[H_LISTENER], (struct sockaddr*)&address, &length) != 0 ||
            connect(client, (struct sockaddr*)&address, length) != 0)
            FAIL("cannot connect to the fixture listener: %s", strerror(errno));
    }
    unsigned char buffer[256];
    int32_t declared = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % (sizeof buffer + 1));
    if (declared > (int32_t)sizeof buffer)
        declared = (int32_t)sizeof buffer; /* never lie about the buffer: that would be our bug */
    int32_t length = declared;
    uint8_t shape = u8(r) % 4; /* 0: address and length; 1: no address; 2: address without length; 3: no result */
    ni_handle h = SENTINEL;
    int32_t rc = ni_accept(listener, shape == 1 ? NULL : buffer, shape == 2 ? NULL : &length, shape == 3 ? NULL : &h);
    check_code("ni_accept", rc);
    if (shape == 3 || shape == 2 || (shape == 0 && declared < 0))
        expect("ni_accept (invalid arguments)", rc, EINVAL);
    else if (!valid)
        expect("ni_accept (no descriptor)", rc, EBADF);
    if (rc == 0)
    {
        close_created("ni_accept", h);
        if (shape == 0 && (length < 0 || length > (int32_t)sizeof(struct sockaddr_un)))
            FAIL("ni_accept reported an address length of %d", length);
    }
    else if (h != SENTINEL)
    {
        FAIL("ni_accept failed (%d) but wrote its result", rc);
    }
    if (client >= 0)
    {
        /* A connection left unaccepted would be accepted by a later input: take it off the backlog. */
        int pending = accept4(g_fds[H_LISTENER], NULL, NULL, SOCK_CLOEXEC);
        if (pending >= 0)
            close(pending);
        close(client);
    }
}

static int32_t g_cancel_after;

static int32_t progress(int64_t copied, void* state)
{
    if (copied < 0)
        FAIL("progress reported %lld bytes", (long long)copied);
    int32_t* calls = state;
    return ++*calls > g_cancel_after;
}

static void op_copyfile(struct reader* r)
{
    char source[PATH_MAX + 512], destination[PATH_MAX + 512];
    const char* s = pick_path(r, source, sizeof source);
    const char* d = pick_path(r, destination, sizeof destination);
    int32_t flags = flag_word(r, NI_COPY_OVERWRITE);
    uint8_t how = u8(r) % 3; /* ni_copyfile, ni_copyfile_ex without and with a progress callback */
    g_cancel_after = u8(r) % 4;
    remember_name(d);
    int32_t calls = 0;
    int32_t rc = how == 0 ? ni_copyfile(s, d, flags)
               : ni_copyfile_ex(s, d, flags, how == 2 ? progress : NULL, &calls);
    check_code("ni_copyfile", rc);
    if (s == NULL || d == NULL || (flags & ~NI_COPY_OVERWRITE))
        expect("ni_copyfile (invalid arguments)", rc, EINVAL);
    if (how == 2 && calls > g_cancel_after && rc != ECANCELED)
        FAIL("the progress callback cancelled, yet ni_copyfile_ex returned %d", rc);
    if (rc == 0)
    {
        /* A copy that succeeded holds the source's bytes (every file here is a few bytes long). */
        char a[512], b[512];
        ssize_t na = -1, nb = -1;
        int fa = open(s, O_RDONLY | O_CLOEXEC), fb = open(d, O_RDONLY | O_CLOEXEC);
        if (fa >= 0)
            na = read(fa, a, sizeof a);
        if (fb >= 0)
            nb = read(fb, b, sizeof b);
        if (fa >= 0)
            close(fa);
        if (fb >= 0)
            close(fb);
        if (na < 0 || na != nb || memcmp(a, b, (size_t)na) != 0)
            FAIL("ni_copyfile(%s, %s) succeeded but the destination differs (%zd and %zd bytes)", s, d, na, nb);
    }
}

static void op_pipe_dup(struct reader* r)
{
    uint8_t shape = u8(r) % 4;
    if (shape < 3)
    {
        ni_handle a = SENTINEL, b = SENTINEL;
        int32_t rc = ni_pipe(shape == 1 ? NULL : &a, shape == 2 ? NULL : &b);
        if (shape != 0)
            expect("ni_pipe (NULL end)", rc, EINVAL);
        check_code("ni_pipe", rc);
        if (rc == 0)
        {
            close_created("ni_pipe", a);
            close_created("ni_pipe", b);
        }
        else if (a != SENTINEL || b != SENTINEL)
            FAIL("ni_pipe failed (%d) but wrote its result", rc);
        return;
    }
    int valid;
    ni_handle source = pick_handle(r, &valid);
    int null_result = u8(r) == 0xff;
    ni_handle h = SENTINEL;
    int32_t rc = ni_dup(source, null_result ? NULL : &h);
    if (null_result)
        expect("ni_dup(result NULL)", rc, EINVAL);
    else if (!valid)
        expect("ni_dup (no descriptor)", rc, EBADF);
    else
        expect("ni_dup", rc, 0);
    if (rc == 0)
        close_created("ni_dup", h);
}

static void op_inheritable(struct reader* r)
{
    int valid;
    ni_handle h = pick_handle(r, &valid);
    int32_t value = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % 2);
    int32_t rc = ni_set_inheritable(h, value);
    if (value != 0 && value != 1)
        expect("ni_set_inheritable (neither 0 nor 1)", rc, EINVAL);
    else if (!valid)
        expect("ni_set_inheritable (no descriptor)", rc, EBADF);
    else
        expect("ni_set_inheritable", rc, 0);
    int32_t now = -5;
    rc = ni_get_inheritable(h, &now);
    expect("ni_get_inheritable", rc, valid ? 0 : EBADF);
    if (valid && rc == 0 && (value == 0 || value == 1) && now != value)
        FAIL("ni_get_inheritable says %d after ni_set_inheritable(%d)", now, value);
    expect("ni_get_inheritable(NULL)", ni_get_inheritable(h, NULL), EINVAL);
    /* Our fixtures go back to what everything of ours is: not inheritable. */
    for (int i = 0; i < H_VALID_COUNT; i++)
        if (fcntl(g_fds[i], F_SETFD, FD_CLOEXEC) != 0)
            FAIL("fixture fd %d is gone: %s", g_fds[i], strerror(errno));
}

static void op_close_preallocate(struct reader* r)
{
    /* ni_close and ni_process_close only ever see numbers that are no descriptor. */
    ni_handle bad = invalid_handle(r);
    int32_t rc = ni_close(bad);
    expect("ni_close (no descriptor)", rc, EBADF);
    ni_process process = { (int64_t)u64(r), bad, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    rc = ni_process_close(u8(r) == 0xff ? NULL : &process);
    check_code("ni_process_close", rc);
    if (bad != NI_INVALID_HANDLE && rc != EBADF && rc != EINVAL)
        FAIL("ni_process_close of a handle that is no descriptor returned %d", rc);

    int valid;
    ni_handle h = pick_handle(r, &valid);
    /* Lengths that really allocate stay small (the file is a fixture on a real disk). */
    int64_t length;
    switch (u8(r) % 3)
    {
        case 0: length = (int64_t)(u32(r) & 0xffff); break;
        case 1: length = -(int64_t)(u64(r) >> 1) - 1; break;
        default: length = INT64_MAX - (int64_t)u8(r); break;
    }
    rc = ni_preallocate(h, length);
    check_code("ni_preallocate", rc);
    if (length < 0)
        expect("ni_preallocate (negative length)", rc, EINVAL);
    else if (!valid && length > 0)
        expect("ni_preallocate (no descriptor)", rc, EBADF);
}

static void op_errors_describe(struct reader* r)
{
    int32_t error = (int32_t)u32(r);
    int32_t kind = ni_error_kind(error);
    if (kind < NI_ERR_OTHER || kind > NI_ERR_PIPE)
        FAIL("ni_error_kind(%d) = %d", error, kind);
    char buffer[300];
    int32_t size = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % 300);
    if (size > (int32_t)sizeof buffer)
        size = (int32_t)sizeof buffer;
    memset(buffer, 'x', sizeof buffer);
    int null_buffer = u8(r) == 0xff;
    int32_t rc = ni_error_message(error, null_buffer ? NULL : buffer, size);
    expect("ni_error_message", rc, null_buffer || size < 1 ? EINVAL : 0);
    if (rc == 0 && memchr(buffer, '\0', (size_t)size) == NULL)
        FAIL("ni_error_message(%d, size %d) did not NUL-terminate", error, size);

    int valid;
    ni_handle h = pick_handle(r, &valid);
    int32_t described = -5;
    size = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % 300);
    if (size > (int32_t)sizeof buffer)
        size = (int32_t)sizeof buffer;
    memset(buffer, 'x', sizeof buffer);
    uint8_t shape = u8(r) % 8; /* 6: buffer NULL, 7: kind NULL */
    rc = ni_describe(h, shape == 6 ? NULL : buffer, size, shape == 7 ? NULL : &described);
    expect("ni_describe", rc, shape >= 6 || size < 1 ? EINVAL : valid ? 0 : EBADF);
    if (rc == 0 && memchr(buffer, '\0', (size_t)size) == NULL)
        FAIL("ni_describe(size %d) did not NUL-terminate", size);
    if (rc == 0 && (described < NI_KIND_OTHER || described > NI_KIND_CHARACTER_DEVICE))
        FAIL("ni_describe gave kind %d", described);
}

static void op_list_seal(struct reader* r)
{
    ni_handle_info infos[64];
    int32_t capacity = u8(r) & 1 ? (int32_t)u32(r) : (int32_t)(u8(r) % 65);
    if (capacity > 64)
        capacity = 64;
    uint8_t shape = u8(r) % 4; /* 2: buffer NULL, 3: count NULL */
    int32_t count = -5;
    int32_t rc = ni_list_handles(shape == 2 ? NULL : infos, capacity, shape == 3 ? NULL : &count);
    if (shape == 3 || capacity < 0 || (shape == 2 && capacity > 0))
        expect("ni_list_handles (invalid arguments)", rc, EINVAL);
    else
        expect("ni_list_handles", rc, 0);
    if (rc == 0 && count < H_VALID_COUNT + 1) /* our fixtures and /proc/self/fd at least */
        FAIL("ni_list_handles found %d descriptors", count);

    ni_handle keep[8];
    int32_t keep_count = u8(r) % 9;
    for (int32_t i = 0; i < keep_count; i++)
    {
        int valid;
        keep[i] = pick_handle(r, &valid);
    }
    int negative = u8(r) == 0xff;
    shape = u8(r) % 4; /* 2: keep NULL, 3: changed NULL */
    int32_t changed = -5;
    rc = ni_seal(shape == 2 ? NULL : keep, negative ? -keep_count - 1 : keep_count, shape == 3 ? NULL : &changed);
    check_code("ni_seal", rc);
    int out_of_range = 0;
    for (int32_t i = 0; i < keep_count; i++)
        out_of_range |= keep[i] < 0 || keep[i] > INT_MAX;
    if (shape == 3 || negative || (shape == 2 && keep_count > 0) || (shape != 2 && out_of_range))
        expect("ni_seal (invalid arguments)", rc, EINVAL);
    else if (rc == 0 && changed < 0)
        FAIL("ni_seal changed %d descriptors", changed);
}

static void op_spawn(struct reader* r)
{
    char path_buffer[PATH_MAX + 512];
    const char* path;
    switch (u8(r) % 4)
    {
        case 0: path = "/bin/true"; break;
        /* Nothing in the scratch dir is a program: its files hold the fixtures' text ("#!/bin/true" at
           most, if a mode made one executable) or nothing. */
        default: path = pick_path(r, path_buffer, sizeof path_buffer); break;
    }
    /* argv and envp: odd strings, up to 8 of each. */
    char strings[16][64];
    const char* argv[9];
    const char* envp[9];
    int argc = u8(r) % 9, envc = u8(r) % 9, n = 0;
    for (int i = 0; i < argc; i++, n++)
    {
        raw_string(r, strings[n], 63);
        argv[i] = strings[n];
    }
    argv[argc] = NULL;
    for (int i = 0; i < envc; i++, n++)
    {
        raw_string(r, strings[n], 63);
        envp[i] = strings[n];
    }
    envp[envc] = NULL;
    char cwd_buffer[PATH_MAX + 512];
    const char* cwd = u8(r) & 1 ? NULL : pick_path(r, cwd_buffer, sizeof cwd_buffer);

    ni_fd_mapping mappings[6];
    int32_t count = u8(r) % 7, any_invalid = 0;
    for (int32_t i = 0; i < count; i++)
    {
        int valid;
        mappings[i].source = pick_handle(r, &valid);
        uint8_t t = u8(r);
        mappings[i].target = t < 200 ? t % 40 - 1 : t < 250 ? NI_SPAWN_SAME_NUMBER : (int32_t)u32(r);
        any_invalid |= !valid;
    }
    uint8_t shape = u8(r) % 8; /* 5: argv NULL, 6: result NULL, 7: a negative count */
    int32_t flags = flag_word(r, SPAWN_KNOWN);
    ni_process process = { 12345, SENTINEL, SENTINEL, SENTINEL };
    int32_t rc = ni_spawn(path, shape == 5 ? NULL : argv, u8(r) & 1 ? NULL : envp, cwd, mappings,
                          shape == 7 ? -count - 1 : count, flags, shape == 6 ? NULL : &process);
    check_code("ni_spawn", rc);
    if (path == NULL || shape >= 5 || (flags & ~SPAWN_KNOWN) ||
        ((flags & NI_SPAWN_DETACHED) && (flags & NI_SPAWN_KILL_ON_PARENT_EXIT)))
        expect("ni_spawn (invalid arguments)", rc, EINVAL);
    else if (any_invalid && rc == 0)
        FAIL("ni_spawn succeeded with a mapping whose source is no descriptor");
    if (rc == 0 && (flags & NI_SPAWN_SUSPENDED))
    {
        /* Waiting before execve: resuming gives execve's answer, and a failed one leaves no child. */
        check_created("ni_spawn (resume)", process.resume);
        int32_t resumed = ni_process_resume(&process);
        check_code("ni_process_resume", resumed);
        if (process.resume != NI_INVALID_HANDLE)
            FAIL("ni_process_resume left the resume handle");
        if (resumed != 0)
        {
            expect("ni_process_close", ni_process_close(&process), 0);
            rc = -1; /* nothing more to check: the child is gone */
        }
    }
    else if (rc == 0 && process.resume != NI_INVALID_HANDLE)
        FAIL("ni_spawn gave a resume handle to a child not suspended");
    if (rc == 0)
    {
        if (process.handle != NI_INVALID_HANDLE)
            check_created("ni_spawn (pidfd)", process.handle);
        expect("ni_kill(signal 0)", ni_kill(&process, 0), 0);
        expect("ni_signal_group(signal 0)", ni_signal_group(&process, 0), 0);
        /* Stops what it finds of the tree (our /bin/true, its group), then continues it: harmless. */
        expect("ni_kill_tree(SIGCONT)", ni_kill_tree(&process, SIGCONT), 0);
        int32_t exited = 0, code = -1;
        expect("ni_wait_for_exit", ni_wait_for_exit(&process, -1, &exited), 0);
        if (!exited)
            FAIL("ni_wait_for_exit(-1) returned before the child exited");
        expect("ni_wait", ni_wait(&process, -1, &exited, &code), 0);
        if (!exited)
            FAIL("ni_wait(-1) returned before the child exited");
        /* Whatever ran (/bin/true, or a "#!/bin/true" fixture) exits 0: anything else is a child that
           died between clone and exec, which ni_spawn reported as started. */
        if (code != 0)
            FAIL("the child of a successful ni_spawn exited with %d", code);
        expect("ni_process_close", ni_process_close(&process), 0);
    }
    else if (rc > 0 && (process.pid != 12345 || process.handle != SENTINEL))
    {
        FAIL("ni_spawn failed (%d) but wrote its result", rc);
    }

    /* ni_wait and ni_kill on processes that are not ours: invalid, or signal 0 only. */
    ni_process other = { -(int64_t)(u32(r) % 3), NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    int32_t exited, code;
    expect("ni_wait (pid <= 0)", ni_wait(&other, 0, &exited, &code), EINVAL);
    expect("ni_wait_for_exit (pid <= 0)", ni_wait_for_exit(&other, 0, &exited), EINVAL);
    expect("ni_kill (pid <= 0)", ni_kill(&other, 0), EINVAL);
    other.pid = 1;
    expect("ni_kill (negative signal)", ni_kill(&other, -(int32_t)(u8(r) % 100) - 1), EINVAL);
    expect("ni_wait (timeout < -1)", ni_wait(&other, -2 - (int32_t)u8(r), &exited, &code), EINVAL);
    expect("ni_wait_for_exit (timeout < -1)", ni_wait_for_exit(&other, -2 - (int32_t)u8(r), &exited), EINVAL);
    expect("ni_wait_for_exit(NULL)", ni_wait_for_exit(NULL, 0, &exited), EINVAL);
    expect("ni_wait(NULL)", ni_wait(NULL, 0, &exited, &code), EINVAL);
    expect("ni_kill(NULL)", ni_kill(NULL, 0), EINVAL);
    expect("ni_kill_tree (signal <= 0)", ni_kill_tree(&other, -(int32_t)(u8(r) % 100)), EINVAL);
    expect("ni_signal_group (negative signal)", ni_signal_group(&other, -(int32_t)(u8(r) % 100) - 1), EINVAL);
    expect("ni_kill_tree(NULL)", ni_kill_tree(NULL, SIGKILL), EINVAL);
    expect("ni_signal_group(NULL)", ni_signal_group(NULL, 0), EINVAL);
    expect("ni_process_resume(NULL)", ni_process_resume(NULL), EINVAL);
    expect("ni_process_resume (nothing to resume)", ni_process_resume(&other), EINVAL);
}

/* Pseudo-terminals: any size; what opens is close-on-exec and closes completely. */
static void op_pty(struct reader* r)
{
    int32_t columns = (int32_t)u32(r) % 70000 - 10, rows = (int32_t)u32(r) % 70000 - 10;
    ni_pty pty = { SENTINEL, SENTINEL, SENTINEL };
    int32_t rc = ni_pty_open(columns, rows, u8(r) == 0xff ? NULL : &pty);
    check_code("ni_pty_open", rc);
    int valid = columns >= 1 && columns <= 65535 && rows >= 1 && rows <= 65535;
    if (!valid || pty.input == SENTINEL)
    {
        if (!valid)
            expect("ni_pty_open (size)", rc, EINVAL);
        if (pty.input != SENTINEL || pty.output != SENTINEL || pty.console != SENTINEL)
            FAIL("ni_pty_open failed (%d) but wrote its result", rc);
        return;
    }
    if (rc != 0)
        return;
    check_created("ni_pty_open (master)", pty.output);
    check_created("ni_pty_open (console)", pty.console);
    if (pty.input != pty.output)
        FAIL("ni_pty_open: input %lld and output %lld differ", (long long)pty.input, (long long)pty.output);
    int32_t c = (int32_t)u32(r) % 70000 - 10, w = (int32_t)u32(r) % 70000 - 10;
    int32_t resized = ni_pty_resize(&pty, c, w);
    expect("ni_pty_resize", resized, c >= 1 && c <= 65535 && w >= 1 && w <= 65535 ? 0 : EINVAL);
    expect("ni_pty_close", ni_pty_close(&pty), 0);
    expect("ni_pty_close (again)", ni_pty_close(&pty), 0);
    expect("ni_pty_resize (closed)", ni_pty_resize(&pty, 80, 24), EBADF);
}

static void op_constants(struct reader* r)
{
    (void)r;
    uint32_t caps = ni_capabilities();
    if (caps & ~0x1fu)
        FAIL("ni_capabilities() = %#x has unknown bits", caps);
    const char* version = ni_version();
    if (version == NULL || strchr(version, '.') == NULL)
        FAIL("ni_version() = %s", version ? version : "NULL");
}

typedef void (*operation)(struct reader*);
static const operation g_operations[] = {
    op_open, op_socket, op_accept, op_copyfile, op_pipe_dup, op_inheritable,
    op_close_preallocate, op_errors_describe, op_list_seal, op_spawn, op_constants, op_pty,
};

static void remove_scratch(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dir/inner", g_scratch);
    unlink(path);
    static const char* const names[] = { "file", "empty", "noexec", "link", "dangling", "nowhere" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
        snprintf(path, sizeof path, "%s/%s", g_scratch, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/dir", g_scratch);
    rmdir(path);
    rmdir(g_scratch);
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
    (void)argc; (void)argv;
    const char* tmp = getenv("TMPDIR");
    snprintf(g_scratch, sizeof g_scratch, "%s/ni-fuzz-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    char made[PATH_MAX];
    if (mkdtemp(g_scratch) == NULL || realpath(g_scratch, made) == NULL)
        FAIL("cannot create the scratch directory: %s", strerror(errno));
    snprintf(g_scratch, sizeof g_scratch, "%s", made);
    g_scratch_length = strlen(g_scratch);
    atexit(remove_scratch);

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dir", g_scratch);
    if (mkdir(path, 0755) != 0)
        FAIL("mkdir %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/link", g_scratch);
    if (symlink("file", path) != 0)
        FAIL("symlink %s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/dangling", g_scratch);
    if (symlink("nowhere", path) != 0) /* a copy onto it creates "nowhere", inside the scratch dir */
        FAIL("symlink %s: %s", path, strerror(errno));
    reset_scratch();

    snprintf(path, sizeof path, "%s/file", g_scratch);
    int pipe_fds[2], pair[2];
    g_fds[H_FILE] = open(path, O_RDWR | O_CLOEXEC);
    g_fds[H_DIR] = open(g_scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pipe2(pipe_fds, O_CLOEXEC) != 0 || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0)
        FAIL("pipe2/socketpair: %s", strerror(errno));
    g_fds[H_PIPE_READ] = pipe_fds[0];
    g_fds[H_PIPE_WRITE] = pipe_fds[1];
    g_fds[H_SOCKET] = pair[0];
    close(pair[1]);
    /* A non-blocking listener, so that ni_accept on it never waits; an abstract name, so no file. */
    g_fds[H_LISTENER] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    int name_length = snprintf(address.sun_path + 1, sizeof address.sun_path - 1, "ni-fuzz-%d", (int)getpid());
    if (g_fds[H_LISTENER] < 0 ||
        bind(g_fds[H_LISTENER], (struct sockaddr*)&address, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)name_length)) != 0 ||
        listen(g_fds[H_LISTENER], 4) != 0)
        FAIL("listener: %s", strerror(errno));
    for (int i = 0; i < H_VALID_COUNT; i++)
        if (g_fds[i] < 0)
            FAIL("fixture %d: %s", i, strerror(errno));
    g_fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_fd_dir < 0)
        FAIL("/proc/self/fd: %s", strerror(errno));
    /* A write to the pipe fixture's read end or a closed peer must fail, not kill the fuzzer. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    struct reader r = { data, size };
    g_named_count = 0;
    int before = count_fds();
    char children_before[256];
    list_children(children_before, sizeof children_before);
    /* Up to four operations per input, so that sequences are tried too. */
    for (int i = 0; i < 4 && r.n > 0; i++)
        g_operations[u8(&r) % (sizeof g_operations / sizeof g_operations[0])](&r);
    int after = count_fds();
    if (after != before)
        FAIL("%d descriptors open before the input, %d after", before, after);
    char children_after[sizeof children_before];
    list_children(children_after, sizeof children_after);
    if (strcmp(children_before, children_after) != 0)
        FAIL("child processes before the input: [%s], after: [%s]", children_before, children_after);
    reset_scratch();
    return 0;
}
