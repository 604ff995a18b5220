#!/usr/bin/env python3
"""A client of the C ABI in another language: Python's ctypes loads libnoinherit and calls it knowing nothing but
noinherit.h (types, struct layouts, constants and the contracts its comments state). Linux only.

    python3 ctypes_client.py <path of libnoinherit.so>

Each check prints a line; the exit status is the number of failed checks (0: all passed).
"""
import ctypes
import errno
import fcntl
import os
import sys
import tempfile

# noinherit.h
ni_handle = ctypes.c_ssize_t  # intptr_t
NI_INVALID_HANDLE = -1
NI_O_RDONLY, NI_O_RDWR, NI_O_CREAT, NI_O_EXCL = 0x0000, 0x0002, 0x0010, 0x0020
NI_COPY_OVERWRITE, NI_COPY_DURABLE = 0x0001, 0x0002
NI_CAP_OPEN_ATOMIC, NI_CAP_SOCKET_ATOMIC, NI_CAP_ACCEPT_ATOMIC, NI_CAP_PIPE_ATOMIC, NI_CAP_DUP_ATOMIC = 1, 2, 4, 8, 16
NI_ERR_NOENT, NI_ERR_EXIST, NI_ERR_CHILD = 1, 4, 29
NI_SPAWN_SAME_NUMBER = -1
NI_SIGTERM, NI_SIGKILL = -4, -11
NI_AF_INET, NI_SOCK_STREAM = 2, 1
NI_KIND_FILE, NI_KIND_PIPE = 1, 4
ECANCELED = errno.ECANCELED


class FdMapping(ctypes.Structure):
    _fields_ = [("source", ni_handle), ("target", ctypes.c_int32)]


class Process(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_int64), ("handle", ni_handle), ("resume", ni_handle), ("job", ni_handle)]


class HandleInfo(ctypes.Structure):
    _fields_ = [("handle", ni_handle), ("kind", ctypes.c_int32), ("inheritable", ctypes.c_int32)]


lib = ctypes.CDLL(sys.argv[1])
i32, pi32 = ctypes.c_int32, ctypes.POINTER(ctypes.c_int32)
lib.ni_version.restype = ctypes.c_char_p
lib.ni_capabilities.restype = ctypes.c_uint32
lib.ni_open.argtypes = [ctypes.c_char_p, i32, i32, ctypes.POINTER(ni_handle)]
lib.ni_pipe.argtypes = [ctypes.POINTER(ni_handle), ctypes.POINTER(ni_handle)]
lib.ni_socket.argtypes = [i32, i32, i32, ctypes.POINTER(ni_handle)]
lib.ni_close.argtypes = [ni_handle]
lib.ni_get_inheritable.argtypes = [ni_handle, pi32]
lib.ni_error_kind.argtypes = [i32]
lib.ni_error_message.argtypes = [i32, ctypes.c_char_p, i32]
lib.ni_copyfile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, i32]
lib.ni_spawn.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p),
                         ctypes.c_char_p, ctypes.POINTER(FdMapping), i32, i32, ctypes.POINTER(Process)]
lib.ni_wait_status.argtypes = [ctypes.POINTER(Process), i32, pi32, pi32, pi32]
lib.ni_kill.argtypes = [ctypes.POINTER(Process), i32]
lib.ni_signal_number.argtypes = [i32]
lib.ni_process_close.argtypes = [ctypes.POINTER(Process)]
Progress = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p)  # ni_copy_progress
lib.ni_copyfile_ex.argtypes = [ctypes.c_char_p, ctypes.c_char_p, i32, Progress, ctypes.c_void_p]
lib.ni_dup.argtypes = [ni_handle, ctypes.POINTER(ni_handle)]
lib.ni_set_inheritable.argtypes = [ni_handle, i32]
lib.ni_list_handles.argtypes = [ctypes.POINTER(HandleInfo), i32, pi32]
lib.ni_describe.argtypes = [ni_handle, ctypes.c_char_p, i32, pi32]
lib.ni_exit_watcher_create.argtypes = [ctypes.POINTER(ni_handle)]
lib.ni_exit_watcher_add.argtypes = [ni_handle, ctypes.POINTER(Process), ctypes.c_int64]
lib.ni_exit_watcher_wait.argtypes = [ni_handle, i32, ctypes.POINTER(ctypes.c_int64), i32, pi32]
for name in ("ni_open", "ni_pipe", "ni_socket", "ni_close", "ni_get_inheritable", "ni_error_kind", "ni_error_message",
             "ni_copyfile", "ni_spawn", "ni_wait_status", "ni_kill", "ni_signal_number", "ni_process_close",
             "ni_copyfile_ex", "ni_dup", "ni_set_inheritable", "ni_list_handles", "ni_describe", "ni_exit_watcher_create",
             "ni_exit_watcher_add", "ni_exit_watcher_wait"):
    getattr(lib, name).restype = i32

failed = 0


def check(what, ok, detail=""):
    global failed
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else f": {detail}"))
    failed += 0 if ok else 1


def cloexec(fd):
    return bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


def argv(*items):
    array = (ctypes.c_char_p * (len(items) + 1))(*[item.encode() for item in items], None)
    return ctypes.cast(array, ctypes.POINTER(ctypes.c_char_p))


def spawn(mappings, *args):
    table = (FdMapping * max(len(mappings), 1))(*[FdMapping(source, target) for source, target in mappings])
    process = Process()
    error = lib.ni_spawn(args[0].encode(), argv(*args), None, None, table, len(mappings), 0, ctypes.byref(process))
    return error, process


def wait(process, timeout_ms=-1):
    exited, code, signal = i32(), i32(), i32()
    error = lib.ni_wait_status(ctypes.byref(process), timeout_ms, ctypes.byref(exited), ctypes.byref(code),
                               ctypes.byref(signal))
    return error, exited.value, code.value, signal.value


version = lib.ni_version()
check("ni_version is MAJOR.MINOR.PATCH", version is not None and len(version.split(b".")) == 3, version)
caps = lib.ni_capabilities()
every = NI_CAP_OPEN_ATOMIC | NI_CAP_SOCKET_ATOMIC | NI_CAP_ACCEPT_ATOMIC | NI_CAP_PIPE_ATOMIC | NI_CAP_DUP_ATOMIC
check("ni_capabilities: every creation atomic on Linux", caps & every == every, hex(caps))

with tempfile.TemporaryDirectory() as directory:
    path = os.path.join(directory, "file").encode()
    handle = ni_handle()
    error = lib.ni_open(path, NI_O_RDWR | NI_O_CREAT | NI_O_EXCL, 0o600, ctypes.byref(handle))
    check("ni_open creates the file", error == 0 and handle.value >= 0, error)
    check("ni_open's descriptor is close-on-exec", cloexec(handle.value))
    inheritable = i32(7)
    check("ni_get_inheritable says 0", lib.ni_get_inheritable(handle, ctypes.byref(inheritable)) == 0 and
          inheritable.value == 0, inheritable.value)
    os.write(handle.value, b"content")
    check("ni_close", lib.ni_close(handle) == 0)

    missing = ni_handle(12345)
    error = lib.ni_open(os.path.join(directory, "missing").encode(), NI_O_RDONLY, 0, ctypes.byref(missing))
    check("ni_open of a missing file: ENOENT", error == errno.ENOENT, error)
    check("ni_error_kind(ENOENT) is NI_ERR_NOENT", lib.ni_error_kind(error) == NI_ERR_NOENT)
    text = ctypes.create_string_buffer(256)
    check("ni_error_message(ENOENT) is strerror's", lib.ni_error_message(error, text, 256) == 0 and
          text.value.decode() == os.strerror(errno.ENOENT), text.value)
    check("a failed ni_open leaves *result alone or invalid", missing.value in (12345, NI_INVALID_HANDLE), missing.value)

    copy = os.path.join(directory, "copy").encode()
    check("ni_copyfile, durable, to a new name", lib.ni_copyfile(path, copy, NI_COPY_DURABLE) == 0)
    error = lib.ni_copyfile(path, copy, NI_COPY_DURABLE)
    check("ni_copyfile onto an existing file without NI_COPY_OVERWRITE: EEXIST", error == errno.EEXIST and
          lib.ni_error_kind(error) == NI_ERR_EXIST, error)
    with open(path, "wb") as f:
        f.write(b"second")
    check("ni_copyfile, durable, replacing", lib.ni_copyfile(path, copy, NI_COPY_OVERWRITE | NI_COPY_DURABLE) == 0)
    with open(copy, "rb") as f:
        check("the copy holds the new content", f.read() == b"second")
    check("the copy leaves nothing else in the directory", sorted(os.listdir(directory)) == ["copy", "file"],
          os.listdir(directory))

    read_end, write_end = ni_handle(), ni_handle()
    check("ni_pipe", lib.ni_pipe(ctypes.byref(read_end), ctypes.byref(write_end)) == 0)
    check("both pipe ends close-on-exec", cloexec(read_end.value) and cloexec(write_end.value))
    sock = ni_handle()
    check("ni_socket, close-on-exec", lib.ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, ctypes.byref(sock)) == 0 and
          cloexec(sock.value))

    # A descriptor left inheritable by other code, and the pipe's write end mapped to 3: the child must hold 3 and
    # not the other one. It reports through 3, and exits 5.
    leak = os.open(directory, os.O_RDONLY)
    os.set_inheritable(leak, True)
    error, process = spawn([(write_end.value, 3)], "/bin/sh", "-c",
                           f"[ -e /proc/$$/fd/{leak} ] && echo leaked >&3; echo hi >&3; exit 5")
    check("ni_spawn of /bin/sh", error == 0 and process.pid > 0, error)
    lib.ni_close(write_end)
    received = b""
    while chunk := os.read(read_end.value, 100):
        received += chunk
    check("the child got the mapped pipe as 3, and not the inheritable descriptor", received == b"hi\n", received)
    error, exited, code, signal = wait(process)
    check("ni_wait_status: exited 5, no signal", (error, exited, code, signal) == (0, 1, 5, 0),
          (error, exited, code, signal))
    check("a second ni_wait_status: the same code, or ECHILD", wait(process)[0] in (0, errno.ECHILD))
    lib.ni_process_close(ctypes.byref(process))
    check("ni_process_close invalidates the handles", process.handle == NI_INVALID_HANDLE)
    os.close(leak)
    lib.ni_close(read_end)
    lib.ni_close(sock)

    error, process = spawn([], "/bin/sleep", "30")
    check("ni_spawn of sleep", error == 0, error)
    error, exited, _, _ = wait(process, 0)
    check("ni_wait_status with timeout 0 on a running child: not exited", (error, exited) == (0, 0), (error, exited))
    error = lib.ni_kill(ctypes.byref(process), NI_SIGTERM)
    check("ni_kill with a portable number as it is: EINVAL (ni_signal_number translates it)", error == errno.EINVAL, error)
    sigterm = lib.ni_signal_number(NI_SIGTERM)
    check("ni_signal_number(NI_SIGTERM) is SIGTERM", sigterm == 15, sigterm)
    error = lib.ni_kill(ctypes.byref(process), sigterm)
    check("ni_kill with SIGTERM", error == 0, error)
    error, exited, code, signal = wait(process)
    check("killed: signal NI_SIGTERM, code 128 + 15", (error, exited, code, signal) == (0, 1, 143, NI_SIGTERM),
          (error, exited, code, signal))
    lib.ni_process_close(ctypes.byref(process))

    error, _ = spawn([], os.path.join(directory, "no-such-program"))
    check("ni_spawn of a missing program: ENOENT, no child left", error == errno.ENOENT, error)

    # A progress callback through the ABI: called with 0 first and the full size last; returning nonzero cancels
    # the copy, which then fails with ECANCELED and leaves the destination as it was.
    big = os.path.join(directory, "big").encode()
    with open(big, "wb") as f:
        f.write(os.urandom(3 << 20))
    seen = []
    keep_going = Progress(lambda copied, state: seen.append(copied) or 0)
    error = lib.ni_copyfile_ex(big, copy, NI_COPY_OVERWRITE, keep_going, None)
    check("ni_copyfile_ex calls the progress with 0 first and the size last", error == 0 and seen[0] == 0 and
          seen[-1] == 3 << 20 and seen == sorted(seen), (error, seen))
    with open(copy, "rb") as f:
        expected = f.read()
    with open(big, "wb") as f:
        f.write(b"other content" * 100000)
    cancel = Progress(lambda copied, state: 1 if copied > 0 else 0)
    error = lib.ni_copyfile_ex(big, copy, NI_COPY_OVERWRITE, cancel, None)
    with open(copy, "rb") as f:
        kept = f.read()
    check("a progress that returns nonzero cancels: ECANCELED, destination untouched, nothing left behind",
          error == ECANCELED and kept == expected and sorted(os.listdir(directory)) == ["big", "copy", "file"],
          (error, kept[:10], os.listdir(directory)))

    # ni_dup, ni_set_inheritable, ni_list_handles (an array of structs) and ni_describe.
    fd = os.open(copy, os.O_RDONLY | os.O_CLOEXEC)
    duplicate = ni_handle()
    check("ni_dup: a close-on-exec copy", lib.ni_dup(fd, ctypes.byref(duplicate)) == 0 and cloexec(duplicate.value))
    check("ni_set_inheritable(1) clears close-on-exec", lib.ni_set_inheritable(duplicate, 1) == 0 and
          not cloexec(duplicate.value))
    check("ni_set_inheritable(2) is EINVAL", lib.ni_set_inheritable(duplicate, 2) == errno.EINVAL)
    infos, count = (HandleInfo * 1024)(), i32()
    check("ni_list_handles", lib.ni_list_handles(infos, 1024, ctypes.byref(count)) == 0 and 0 < count.value <= 1024,
          count.value)
    listed = {infos[i].handle: (infos[i].kind, infos[i].inheritable) for i in range(count.value)}
    check("ni_list_handles lists the inheritable copy as an inheritable file, and ours as not inheritable",
          listed.get(duplicate.value) == (NI_KIND_FILE, 1) and listed.get(fd) == (NI_KIND_FILE, 0),
          (listed.get(duplicate.value), listed.get(fd)))
    text, kind = ctypes.create_string_buffer(4096), i32()
    check("ni_describe names the file", lib.ni_describe(duplicate, text, 4096, ctypes.byref(kind)) == 0 and
          text.value == os.path.realpath(copy) and kind.value == NI_KIND_FILE, (text.value, kind.value))
    lib.ni_close(duplicate)
    os.close(fd)

    # An exit watcher: one wait reports the key of the child that exited.
    watcher = ni_handle()
    check("ni_exit_watcher_create", lib.ni_exit_watcher_create(ctypes.byref(watcher)) == 0)
    error, process = spawn([], "/bin/sh", "-c", "exit 3")
    check("ni_exit_watcher_add", error == 0 and lib.ni_exit_watcher_add(watcher, ctypes.byref(process), 77) == 0)
    keys, count = (ctypes.c_int64 * 4)(), i32()
    error = lib.ni_exit_watcher_wait(watcher, 30000, keys, 4, ctypes.byref(count))
    check("ni_exit_watcher_wait reports its key", (error, count.value, keys[0]) == (0, 1, 77), (error, count.value))
    check("then ni_wait_status collects it: 3", wait(process)[:3] == (0, 1, 3))
    lib.ni_process_close(ctypes.byref(process))
    lib.ni_close(watcher)

sys.exit(failed)
