/* The portable part of "what does a child hold": reading the child's "<value> <description>" lines,
   the inheritance check with its control, this process's handles, and sockets on 127.0.0.1 to give
   the tests something to accept and to tell apart. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>

/* ---- The child's output ---- */

int ni_test_probe_has(const char* output, ni_handle value, const char* description)
{
    for (const char* line = output; line != NULL && *line != '\0';)
    {
        char* rest;
        long long number = strtoll(line, &rest, 0);
        const char* end = strchr(rest, '\n');
        size_t length = end != NULL ? (size_t)(end - rest) : strlen(rest);
        if (*rest == ' ' && (value == NI_INVALID_HANDLE || number == (long long)value) &&
            (description == NULL ||
             (length - 1 == strlen(description) && memcmp(rest + 1, description, length - 1) == 0)))
            return 1;
        line = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

int ni_test_probe_lines(const char* output)
{
    int lines = 0;
    for (; output != NULL && *output != '\0'; output++)
        lines += *output == '\n';
    return lines;
}

int ni_test_probe_holds(const char* output, ni_handle h)
{
    static char ours[NI_TEST_DESCRIPTION_MAX];
    ni_test_describe_handle(h, ours, sizeof ours);
    return strcmp(ours, "-") != 0 && ni_test_probe_has(output, h, ours);
}

int ni_test_child_sees(ni_handle h)
{
    char* output = ni_test_probe(&h, 1);
    int seen = output != NULL && ni_test_probe_holds(output, h);
    free(output);
    return seen;
}

int ni_test_check_inheritance(const char* file, int line, ni_handle ours, ni_handle control)
{
    static char ours_text[NI_TEST_DESCRIPTION_MAX], control_text[NI_TEST_DESCRIPTION_MAX];
    ni_test_describe_handle(ours, ours_text, sizeof ours_text);
    ni_test_describe_handle(control, control_text, sizeof control_text);
    if (strcmp(ours_text, "-") == 0 || strcmp(control_text, "-") == 0)
    {
        ni_test_fail(file, line, "%lld (%s) / %lld (%s): not open here, the child cannot prove anything",
                     (long long)ours, ours_text, (long long)control, control_text);
        return 0;
    }
    ni_handle both[2] = { ours, control };
    char* output = ni_test_probe(both, 2);
    if (output == NULL)
        return 0;
    int ok = 1;
    if (ni_test_probe_has(output, ours, ours_text))
    {
        ni_test_fail(file, line, "the child inherited %lld (%s)", (long long)ours, ours_text);
        ok = 0;
    }
    if (!ni_test_probe_has(output, control, control_text))
    {
        ni_test_fail(file, line, "the child lacks the inheritable control %lld (%s): the check is blind",
                     (long long)control, control_text);
        ok = 0;
    }
    if (!ok)
        fprintf(stderr, "the child said:\n%s", output);
    free(output);
    return ok;
}

/* ---- This process's handles ---- */

int ni_test_count_handles(void)
{
    return ni_test_list_handles(NULL, 0);
}

int ni_test_handles_in(const char* dir, ni_handle except, ni_handle* out, int capacity)
{
    /* Matched by "<separator><last component of dir><separator>": a POSIX target starts with the
       dir, a Windows final path is the dir in another spelling (\\?\, other case), not a prefix. */
    const char* last = strrchr(dir, NI_TEST_SEPARATOR[0]);
    char key[NI_TEST_PATH_MAX];
    snprintf(key, sizeof key, "%s" NI_TEST_SEPARATOR, last != NULL ? last : dir);
    static ni_handle all[4096];
    int total = ni_test_list_handles(all, 4096);
    if (total < 0 || total > 4096)
        return -1;
    int count = 0;
    for (int i = 0; i < total; i++)
    {
        static char description[NI_TEST_DESCRIPTION_MAX];
        ni_test_describe_handle(all[i], description, sizeof description);
        if (all[i] != except && strstr(description, key) != NULL && count++ < capacity)
            out[count - 1] = all[i];
    }
    return count;
}

/* ---- Sockets on 127.0.0.1 ---- */

struct sockaddr_in ni_test_loopback(int port)
{
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons((uint16_t)port);
    return address;
}

int ni_test_local_port(ni_handle s)
{
    struct sockaddr_in address;
    socklen_t length = sizeof address;
    return getsockname(NI_TEST_SOCKET(s), (struct sockaddr*)&address, &length) == 0 ? ntohs(address.sin_port) : -1;
}

int ni_test_bind_loopback(ni_handle s)
{
    struct sockaddr_in address = ni_test_loopback(0);
    return bind(NI_TEST_SOCKET(s), (struct sockaddr*)&address, sizeof address) == 0 ? ni_test_local_port(s) : -1;
}

int ni_test_listen_loopback(ni_handle* listener, int* port)
{
    int rc = ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, listener);
    if (rc != 0)
        return rc;
    if ((*port = ni_test_bind_loopback(*listener)) < 0 || listen(NI_TEST_SOCKET(*listener), 8) != 0)
    {
        rc = ni_test_socket_error();
        ni_close(*listener);
        return rc;
    }
    return 0;
}

ni_handle ni_test_connect_loopback(int port)
{
    ni_handle client;
    if (ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &client) != 0)
        return NI_INVALID_HANDLE;
    struct sockaddr_in address = ni_test_loopback(port);
    if (connect(NI_TEST_SOCKET(client), (struct sockaddr*)&address, sizeof address) != 0)
    {
        ni_close(client);
        return NI_INVALID_HANDLE;
    }
    return client;
}

/* ---- Children of one's own ---- */

void ni_test_command_line(const char* program, const char* const* extra, const char* out[NI_TEST_MAX_ARGS])
{
    char* const* child = ni_test_child_argv();
    size_t n = 0;
    for (; child[n + 1] != NULL; n++) /* the emulator and its arguments */
        out[n] = child[n];
    out[n] = program != NULL ? program : child[n];
    n++;
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < NI_TEST_MAX_ARGS - 1; i++)
        out[n++] = extra[i];
    out[n] = NULL;
}
