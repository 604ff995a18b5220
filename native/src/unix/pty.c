/*
 * ni_pty_open, ni_pty_resize, ni_pty_close: pseudo-terminals whose descriptors no child inherits. Opening is
 * the kernel layer's (ni_sys_open_pty: /dev/ptmx and the slave, close-on-exec); a child is put on the
 * terminal by ni_spawn (a NI_SPAWN_TERMINAL mapping: setsid, the slave as 0, 1, 2, TIOCSCTTY).
 */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* struct winsize counts in unsigned short. */
#define NI_PTY_SIZE_MAX 65535

static int32_t check_size(int32_t columns, int32_t rows)
{
    return columns < 1 || rows < 1 || columns > NI_PTY_SIZE_MAX || rows > NI_PTY_SIZE_MAX ? EINVAL : 0;
}

/* TIOCSWINSZ on the master: the kernel sends SIGWINCH to the terminal's foreground group when it changes. */
static int32_t set_size(int fd, int32_t columns, int32_t rows)
{
    struct winsize size = { (unsigned short)rows, (unsigned short)columns, 0, 0 };
    return ioctl(fd, TIOCSWINSZ, &size) == 0 ? 0 : errno;
}

int32_t ni_pty_open(int32_t columns, int32_t rows, ni_pty* result)
{
    if (result == NULL)
        return EINVAL;
    int32_t error = check_size(columns, rows);
    int master, slave;
    if (error != 0 || (error = ni_sys_open_pty(&master, &slave)) != 0)
        return error;
    if ((error = set_size(master, columns, rows)) != 0)
    {
        ni_unix_close_quietly(slave);
        ni_unix_close_quietly(master);
        return error;
    }
    result->input = result->output = master;
    result->console = slave;
    return 0;
}

int32_t ni_pty_resize(const ni_pty* pty, int32_t columns, int32_t rows)
{
    if (pty == NULL)
        return EINVAL;
    int32_t error = check_size(columns, rows);
    return error != 0 ? error : set_size(ni_unix_fd(pty->output), columns, rows);
}

int32_t ni_pty_close(ni_pty* pty)
{
    if (pty == NULL)
        return EINVAL;
    if (pty->output == pty->input)
        pty->output = NI_INVALID_HANDLE; /* one descriptor for both */
    int32_t input = ni_unix_release(&pty->input);
    int32_t output = ni_unix_release(&pty->output);
    int32_t console = ni_unix_release(&pty->console);
    return input != 0 ? input : output != 0 ? output : console;
}
