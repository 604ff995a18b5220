/* The portable file helpers of the test framework: paths in the temp dir, whole-file reads and writes,
   reproducible content. The platform's primitives (mkdir, remove, ...) are in ni_test_posix.c and
   ni_test_windows.c. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>

void ni_test_path_in(char out[NI_TEST_PATH_MAX], const char* dir, const char* name)
{
    CHECK(snprintf(out, NI_TEST_PATH_MAX, "%s" NI_TEST_SEPARATOR "%s", dir, name) < NI_TEST_PATH_MAX);
}

void ni_test_make_dir(char out[NI_TEST_PATH_MAX], const char* name)
{
    ni_test_path(out, name);
    CHECK_OK(ni_test_mkdir(out));
}

void ni_test_make_deep_dir(char out[NI_TEST_PATH_MAX], int levels)
{
    ni_test_path(out, "");
    for (int level = 0; level < levels; level++)
    {
        size_t length = strlen(out);
        snprintf(out + length, NI_TEST_PATH_MAX - length, "%.*s%d" NI_TEST_SEPARATOR, 59,
                 "a-directory-whose-name-is-long-enough-0123456789abcdefghijklmnopqrstuvwxyz", level);
        CHECK_OK(ni_test_mkdir(out));
    }
}

void ni_test_copy_paths(struct ni_test_copy* c, const char* dir_name, const char* src_name)
{
    ni_test_make_dir(c->dir, dir_name);
    ni_test_path_in(c->src, c->dir, src_name);
    ni_test_path_in(c->dst, c->dir, "dst");
}

int ni_test_write_file(const char* path, const void* data, size_t size, int mode)
{
    FILE* f = ni_test_fopen(path, "wb", mode);
    if (f == NULL)
        return errno != 0 ? errno : -1;
    int error = fwrite(data, 1, size, f) == size ? 0 : -1;
    if (fclose(f) != 0 && error == 0)
        error = -1;
    return error;
}

char* ni_test_read_stream(FILE* f, size_t* size)
{
    size_t length = 0, capacity = 4096;
    char* data = malloc(capacity + 1);
    while (data != NULL)
    {
        length += fread(data + length, 1, capacity - length, f);
        if (length < capacity)
            break; /* the end, or an error (ferror below) */
        char* bigger = realloc(data, capacity * 2 + 1);
        if (bigger == NULL)
        {
            free(data);
            return NULL;
        }
        data = bigger;
        capacity *= 2;
    }
    if (data != NULL && ferror(f))
    {
        free(data);
        return NULL;
    }
    if (data != NULL)
    {
        data[length] = '\0'; /* so that text content can be used as a string */
        if (size != NULL)
            *size = length;
    }
    return data;
}

char* ni_test_read_file(const char* path, size_t* size)
{
    FILE* f = ni_test_fopen(path, "rb", 0);
    if (f == NULL)
        return NULL;
    char* data = ni_test_read_stream(f, size);
    fclose(f);
    return data;
}

int ni_test_file_equals(const char* path, const void* data, size_t size)
{
    size_t actual_size;
    char* actual = ni_test_read_file(path, &actual_size);
    int equal = actual != NULL && actual_size == size && memcmp(actual, data, size) == 0;
    free(actual);
    return equal;
}

int ni_test_same_content(const char* a, const char* b)
{
    enum { block = 1 << 20 }; /* compared a block at a time: the files can be hundreds of MiB */
    FILE* fa = ni_test_fopen(a, "rb", 0);
    FILE* fb = ni_test_fopen(b, "rb", 0);
    char* ba = malloc(block);
    char* bb = malloc(block);
    int same = fa != NULL && fb != NULL && ba != NULL && bb != NULL;
    while (same)
    {
        size_t na = fread(ba, 1, block, fa), nb = fread(bb, 1, block, fb);
        same = na == nb && memcmp(ba, bb, na) == 0 && !ferror(fa) && !ferror(fb);
        if (na < block)
            break;
    }
    free(ba);
    free(bb);
    if (fa != NULL)
        fclose(fa);
    if (fb != NULL)
        fclose(fb);
    return same;
}

void ni_test_fill(char* data, size_t size, uint64_t seed)
{
    uint64_t state = seed | 1;
    for (size_t i = 0; i < size; i++)
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data[i] = (char)state;
    }
}

int ni_test_make_file(const char* path, size_t size, uint64_t seed)
{
    char* data = malloc(size > 0 ? size : 1);
    if (data == NULL)
        return 0;
    ni_test_fill(data, size, seed);
    ni_test_remove(path); /* a new file, whatever was there (its mode too) */
    int ok = ni_test_write_file(path, data, size, 0644) == 0;
    free(data);
    return ok;
}

struct ni_test_recorder* ni_test_new_recorder(void)
{
    struct ni_test_recorder* r = calloc(1, sizeof *r);
    if (CHECK(r != NULL))
        r->cancel_at = -1;
    return r;
}

int32_t ni_test_record(int64_t copied, void* recorder)
{
    struct ni_test_recorder* r = recorder;
    if (r->count < (int)(sizeof r->values / sizeof r->values[0]))
        r->values[r->count] = copied;
    r->count++;
    if (r->hook != NULL)
        r->hook(r, copied);
    return r->cancel_at >= 0 && copied >= r->cancel_at;
}

int ni_test_progress_is_sound(const struct ni_test_recorder* r, int64_t size)
{
    if (!CHECK(r->count >= 1 && r->count <= (int)(sizeof r->values / sizeof r->values[0])))
        return 0;
    int ok = CHECK_INT(r->values[0], 0) & CHECK_INT(r->values[r->count - 1], size);
    for (int i = 1; i < r->count; i++)
        if (r->values[i] <= r->values[i - 1])
        {
            ni_test_fail(__FILE__, __LINE__, "progress went from %lld to %lld at call %d",
                         (long long)r->values[i - 1], (long long)r->values[i], i);
            return 0;
        }
    return ok;
}
