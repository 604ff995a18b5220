/* ni_copyfile. */
#include "ni_test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int exists(const char* path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int mode_of(const char* path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* After a copy, neither file may still be open in this process. */
#define CHECK_NOTHING_OPEN(src, dst) CHECK(ni_test_find_fd(src) < 0 && ni_test_find_fd(dst) < 0)

static void copy_contents(void)
{
    static const size_t sizes[] = { 0, 1, (1u << 20) + 1 };
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    char* data = malloc(sizes[2]);
    if (!CHECK(data != NULL))
        return;
    uint64_t state = 0x9e3779b97f4a7c15u; /* xorshift: reproducible bytes that are not all alike */
    for (size_t i = 0; i < sizes[2]; i++)
    {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        data[i] = (char)state;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        CHECK_OK(ni_test_write_file(src, data, sizes[i], 0644));
        CHECK_OK(ni_copyfile(src, dst, 0));
        CHECK(ni_test_file_equals(dst, data, sizes[i]));
        CHECK_NOTHING_OPEN(src, dst);
        CHECK_INT(unlink(dst), 0);
    }
    free(data);
}

static void copy_proc_files(void)
{
    /* procfs reports st_size 0 for files that do have content. */
    char dst[PATH_MAX];
    ni_test_path(dst, "status");
    if (CHECK_OK(ni_copyfile("/proc/self/status", dst, 0)))
    {
        char* text = ni_test_read_file(dst, NULL);
        CHECK(text != NULL && strncmp(text, "Name:\t", 6) == 0);
        free(text);
    }
    ni_test_path(dst, "cmdline");
    size_t size;
    char* expected = ni_test_read_file("/proc/self/cmdline", &size);
    if (CHECK(expected != NULL && size > 0) && CHECK_OK(ni_copyfile("/proc/self/cmdline", dst, 0)))
        CHECK(ni_test_file_equals(dst, expected, size));
    free(expected);
}

static void copy_existing_destination(void)
{
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK_OK(ni_test_write_file(src, "new", 3, 0644));
    CHECK_OK(ni_test_write_file(dst, "old and longer", 14, 0644));
    CHECK_RC(ni_copyfile(src, dst, 0), EEXIST);
    CHECK(ni_test_file_equals(dst, "old and longer", 14));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(dst, "new", 3)); /* no stale tail of the longer old content */
    CHECK_NOTHING_OPEN(src, dst);
}

static void copy_onto_itself(void)
{
    char file[PATH_MAX], hardlink[PATH_MAX], symlinked[PATH_MAX];
    ni_test_path(file, "file");
    ni_test_path(hardlink, "hardlink");
    ni_test_path(symlinked, "symlink");
    CHECK_OK(ni_test_write_file(file, "precious", 8, 0644));
    CHECK_INT(link(file, hardlink), 0);
    CHECK_INT(symlink(file, symlinked), 0);

    CHECK_RC(ni_copyfile(file, file, NI_COPY_OVERWRITE), EINVAL);
    CHECK_RC(ni_copyfile(file, hardlink, NI_COPY_OVERWRITE), EINVAL);
    CHECK_RC(ni_copyfile(hardlink, file, NI_COPY_OVERWRITE), EINVAL);
    CHECK_RC(ni_copyfile(symlinked, file, NI_COPY_OVERWRITE), EINVAL);
    /* Without NI_COPY_OVERWRITE the destination exists, which is the answer (as File.Copy's). */
    CHECK_RC(ni_copyfile(file, hardlink, 0), EEXIST);
    CHECK_RC(ni_copyfile(file, file, 0), EEXIST);
    CHECK(ni_test_file_equals(file, "precious", 8));
    CHECK_NOTHING_OPEN(file, hardlink);
}

static void copy_errors(void)
{
    char src[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX], missing[PATH_MAX], orphan[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    ni_test_path(dir, "dir");
    ni_test_path(missing, "missing");
    ni_test_path(orphan, "missing/dst");
    CHECK_OK(ni_test_write_file(src, "s", 1, 0644));
    CHECK_INT(mkdir(dir, 0755), 0);
    int fds = ni_test_count_handles();

    CHECK_RC(ni_copyfile(missing, dst, 0), ENOENT);
    CHECK_RC(ni_copyfile(dir, dst, 0), EISDIR);
    CHECK_RC(ni_copyfile(dir, dst, NI_COPY_OVERWRITE), EISDIR);
    CHECK_RC(ni_copyfile(src, dir, 0), EEXIST);
    CHECK_RC(ni_copyfile(src, dir, NI_COPY_OVERWRITE), EISDIR);
    CHECK_RC(ni_copyfile(src, orphan, 0), ENOENT);
    const int32_t unknown[] = { 0x0002, 0x0100, INT32_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_RC(ni_copyfile(src, dst, unknown[i]), EINVAL);
    CHECK_RC(ni_copyfile(NULL, dst, 0), EINVAL);
    CHECK_RC(ni_copyfile(src, NULL, 0), EINVAL);

    CHECK(!exists(dst));
    CHECK_INT(ni_test_count_handles(), fds);
}

static void copy_failure_removes_destination(void)
{
    /* /proc/self/mem opens and stats as a regular file, but reading offset 0 fails (EIO):
       the copy fails after the destination was created. */
    char dst[PATH_MAX];
    ni_test_path(dst, "dst");
    int rc = ni_copyfile("/proc/self/mem", dst, 0);
    CHECK(rc != 0);
    CHECK(!exists(dst));
}

static void copy_mode(void)
{
    /* As File.Copy: the source's rwx bits whatever the umask, never setuid/setgid/sticky, whether the
       destination is created or overwritten (an old destination's own mode does not survive). */
    static const struct { int source, mask, expected; } cases[] = {
        { 0640, 022, 0640 },
        { 0755, 022, 0755 },
        { 0600, 077, 0600 },
        { 0666, 022, 0666 },
        { 0777, 077, 0777 },
        { 04755, 022, 0755 },
    };
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        CHECK_OK(ni_test_write_file(src, "m", 1, cases[i].source));
        mode_t saved = umask((mode_t)cases[i].mask);
        CHECK_OK(ni_copyfile(src, dst, 0));
        CHECK_INT(mode_of(dst), cases[i].expected);
        CHECK_OK(chmod(dst, 0602));
        CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
        umask(saved);
        CHECK_INT(mode_of(dst), cases[i].expected);
        unlink(dst);
    }
}

static void copy_mtime(void)
{
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK_OK(ni_test_write_file(src, "t", 1, 0644));
    struct timespec times[2] = { { 1000000000, 0 }, { 978307200, 123456789 } }; /* 2001-01-01 */
    CHECK_OK(utimensat(AT_FDCWD, src, times, 0));
    CHECK_OK(ni_copyfile(src, dst, 0));
    struct stat st;
    CHECK_OK(stat(dst, &st));
    CHECK_INT(st.st_mtim.tv_sec, 978307200);
    CHECK_INT(st.st_mtim.tv_nsec, 123456789);
}

struct copy_job
{
    const char *src, *dst;
    int rc;
    atomic_int done;
};

static void* run_copy(void* arg)
{
    struct copy_job* job = arg;
    job->rc = ni_copyfile(job->src, job->dst, 0);
    atomic_store(&job->done, 1);
    return NULL;
}

static void copy_is_not_inherited_mid_copy(void)
{
    /* A FIFO source keeps the copy waiting with both files open, so a child can be started
       right in the middle of it. */
    char src[PATH_MAX], dst[PATH_MAX], control_path[PATH_MAX];
    ni_test_path(src, "fifo");
    ni_test_path(dst, "dst");
    ni_test_path(control_path, "control");
    if (!CHECK_INT(mkfifo(src, 0644), 0))
        return;
    int control = open(control_path, O_WRONLY | O_CREAT, 0644);
    if (!CHECK(control >= 0))
        return;
    struct copy_job job = { src, dst, -1, 0 };
    pthread_t thread;
    if (!CHECK_INT(pthread_create(&thread, NULL, run_copy, &job), 0))
    {
        close(control);
        return;
    }
    int writer = open(src, O_WRONLY | O_CLOEXEC); /* returns once the copy opened its end */
    CHECK(writer >= 0);
    ssize_t written = write(writer, "hello", 5); /* EPIPE (SIGPIPE is ignored) if it gave up */
    const struct timespec pause = { 0, 1000 * 1000 };
    for (int i = 0; i < 5000 && !atomic_load(&job.done) && ni_test_find_fd(dst) < 0; i++)
        nanosleep(&pause, NULL);

    if (!atomic_load(&job.done) && CHECK(ni_test_find_fd(dst) >= 0))
    {
        char* list = ni_test_child_fds();
        CHECK(list != NULL && !ni_test_fds_have(list, -1, src)); /* neither its end nor our writer */
        CHECK(list != NULL && !ni_test_fds_have(list, -1, dst));
        CHECK(list != NULL && ni_test_fds_have(list, control, control_path)); /* not blind */
        free(list);
    }
    close(writer);
    pthread_join(thread, NULL);
    if (job.rc == EINVAL)
        ni_test_skip("the copy refuses a FIFO source, it cannot be caught mid-copy this way");
    else
    {
        CHECK_OK(job.rc);
        CHECK_INT(written, 5);
        CHECK(ni_test_file_equals(dst, "hello", 5));
    }
    CHECK_NOTHING_OPEN(src, dst);
    close(control);
}

/* As File.Copy: a shared lock on the source, an exclusive one on the destination; a conflicting
   holder makes the copy fail with EWOULDBLOCK before anything is written. */
static void copy_respects_locks(void)
{
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK_OK(ni_test_write_file(src, "new", 3, 0644));
    CHECK_OK(ni_test_write_file(dst, "old content", 11, 0644));

    int holder = open(src, O_RDONLY | O_CLOEXEC);
    CHECK_INT(flock(holder, LOCK_EX), 0);
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE), EWOULDBLOCK);
    CHECK(ni_test_file_equals(dst, "old content", 11));
    CHECK_INT(flock(holder, LOCK_UN), 0);
    CHECK_INT(flock(holder, LOCK_SH), 0); /* readers may share the source */
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    close(holder);

    CHECK_OK(ni_test_write_file(dst, "old content", 11, 0644));
    holder = open(dst, O_RDONLY | O_CLOEXEC);
    CHECK_INT(flock(holder, LOCK_SH), 0);
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE), EWOULDBLOCK);
    CHECK(ni_test_file_equals(dst, "old content", 11));
    close(holder);

    /* The copy's own locks are gone once it returns: a second copy and an exclusive lock both work. */
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    holder = open(dst, O_RDONLY | O_CLOEXEC);
    CHECK_INT(flock(holder, LOCK_EX | LOCK_NB), 0);
    close(holder);
    CHECK_NOTHING_OPEN(src, dst);
}

/* With NI_COPY_OVERWRITE a destination that is a dangling symlink gets its target created, as
   File.Copy does; without it the existing link is EEXIST. */
static void copy_onto_dangling_symlink(void)
{
    char src[PATH_MAX], link_path[PATH_MAX], target[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(link_path, "link");
    ni_test_path(target, "target");
    CHECK_OK(ni_test_write_file(src, "data", 4, 0644));
    CHECK_INT(symlink(target, link_path), 0);
    CHECK_RC(ni_copyfile(src, link_path, 0), EEXIST);
    CHECK(!exists(target));
    CHECK_OK(ni_copyfile(src, link_path, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(target, "data", 4));
    struct stat st;
    CHECK_INT(lstat(link_path, &st), 0);
    CHECK(S_ISLNK(st.st_mode));
}

NI_TEST_MAIN(
    NI_TEST(copy_contents),
    NI_TEST(copy_proc_files),
    NI_TEST(copy_existing_destination),
    NI_TEST(copy_onto_itself),
    NI_TEST(copy_errors),
    NI_TEST(copy_failure_removes_destination),
    NI_TEST(copy_mode),
    NI_TEST(copy_mtime),
    NI_TEST(copy_respects_locks),
    NI_TEST(copy_onto_dangling_symlink),
    NI_TEST(copy_is_not_inherited_mid_copy))
