# The fork server of python jobs (see forkserver.ts). The worker's spawner starts it once in a
# bubblewrap sandbox as `/usr/bin/python3 -u main.py` from /work, the very command line a fresh
# job runs, so the interpreter, its flags, sys.argv, sys.path and the standard streams are
# already what a program expects. It never runs a program itself: for each job it clones a child
# into new user, PID, mount, IPC, network and UTS namespaces; the child makes the job's sandbox,
# forks the program as PID 2 and stays as its PID 1. The next job's child is cloned ahead, while
# the server waits: it does what needs no job (its user mapping, /proc, loopback) and waits on a
# socket of its own for its one job; it never serves another.
#
# Control socket (fd 3, SOCK_SEQPACKET, one JSON object a message). In: first {"seccomp": base64},
# then {"id", "limits": [cpu, nproc, fsize, nofile, as], "disk": bytes} with the descriptors
# stdin, stdout, stderr, the source (a memfd) and one cgroup.procs per hierarchy, or
# {"kill": id}. Out: {"id", "ready": 1} | {"id", "exit": code} | {"id", "error"} (a job's PID is
# of the server's namespace, of no use outside: it is not sent).
# Job data (source, stdin, output) only ever passes through the child's descriptors: the server's
# memory, which every child starts from, holds none of it.
import sys

BASELINE = set(sys.modules)

import _socket
import base64
import ctypes
import fcntl
import gc
import json
import os
import resource
import select
import signal
import struct

UID, GID = os.getuid(), os.getgid()
WORKDIR = '/work'
MAIN = '/work/main.py'

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
CLONE_FLAGS = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS
SYS_CLONE = {'x86_64': 56, 'aarch64': 220}[os.uname().machine]
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 4, 24, 38, 47
PR_SET_SECCOMP, SECCOMP_MODE_FILTER, PR_CAP_AMBIENT_CLEAR_ALL = 22, 2, 4
SIOCSIFFLAGS, IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x8914, 0x1, 0x8, 0x40

libc = ctypes.CDLL(None, use_errno=True)
# clone runs holding the GIL, between PyOS_BeforeFork and PyOS_AfterFork_*, as os.fork does
held = ctypes.PyDLL(None, use_errno=True)
held.syscall.restype = ctypes.c_long
held.syscall.argtypes = [ctypes.c_long, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
# looked up once here: ctypes looks a function up at its first use, which in a job's child would
# happen (and write to pages shared with the server) every job
unshare, capset = libc.unshare, libc.capset
before_fork, after_fork_parent, after_fork_child = (
    ctypes.pythonapi.PyOS_BeforeFork, ctypes.pythonapi.PyOS_AfterFork_Parent, ctypes.pythonapi.PyOS_AfterFork_Child)


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]


class CapHeader(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32), ('inheritable', ctypes.c_uint32)]


class SetupError(Exception):
    pass


class Prepared:
    """What every job's child passes to the kernel, built once in the server: the child only makes the calls."""

    def __init__(self, seccomp):
        self.program = ctypes.create_string_buffer(seccomp, len(seccomp))
        self.fprog = SockFprog(len(seccomp) // 8, ctypes.cast(self.program, ctypes.c_void_p))
        self.fprog_address = ctypes.addressof(self.fprog)
        self.cap_header = ctypes.byref(CapHeader(0x20080522, 0))
        self.no_caps = (CapData * 2)()
        self.lo_up = struct.pack('16sH14x', b'lo', IFF_UP | IFF_LOOPBACK | IFF_RUNNING)
        with open('/proc/sys/kernel/cap_last_cap') as file:
            self.caps = range(int(file.read()) + 1)
        # above any descriptor the server can hold
        self.fd_limit = os.sysconf('SC_OPEN_MAX')


def check(result, what):
    if result < 0:
        error = ctypes.get_errno()
        raise SetupError('%s: %s' % (what, os.strerror(error)))
    return result


def mount(source, target, fstype, flags, data=None):
    check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                     data and data.encode()), 'mount ' + target)


def prctl(option, arg2=0, arg3=0):
    return check(libc.prctl(option, arg2, arg3, 0, 0), 'prctl %d' % option)


def write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class Job:
    """What the cloned child needs: its descriptors and bounds (and what went wrong before they came)."""

    def __init__(self, request, fds, failed):
        self.id = request['id']
        self.limits = request['limits']
        self.disk = int(request['disk'])
        self.stdin, self.stdout, self.stderr, self.source, *self.cgroups, self.status = fds
        self.failed = failed


def receive_fds(sock):
    """One message of a SOCK_SEQPACKET socket and the descriptors that came with it."""
    data, ancillary, _, _ = sock.recvmsg(65536, _socket.CMSG_SPACE(64 * 4), _socket.MSG_CMSG_CLOEXEC)
    fds = []
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds.extend(struct.unpack('%di' % (len(payload) // 4), payload[:len(payload) - len(payload) % 4]))
    return data, fds


def wait_for_job(sock, prepared):
    """In a child cloned ahead: what needs no job, then its one job from the server (exits without one)."""
    # nothing of the server but this socket (and the standard streams, replaced by the job's)
    os.closerange(3, sock.fileno())
    os.closerange(sock.fileno() + 1, prepared.fd_limit)
    try:
        ahead(prepared)
        failed = None
    except BaseException as error:
        failed = error
    data, fds = receive_fds(sock)
    if not data:
        os._exit(0)
    sock.close()
    return Job(json.loads(data), fds, failed)


def ahead(prepared):
    """In the cloned child before its job is known: what every job's sandbox gets."""
    write_file('/proc/self/setgroups', 'deny')
    write_file('/proc/self/uid_map', '%d %d 1' % (UID, UID))
    write_file('/proc/self/gid_map', '%d %d 1' % (GID, GID))
    mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # as bwrap --disable-userns: no user namespace can be made below this one
    write_file('/proc/sys/user/max_user_namespaces', '0')
    up = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(up.fileno(), SIOCSIFFLAGS, prepared.lo_up)
    finally:
        up.close()


def enter_sandbox(job, prepared):
    """In the cloned child (PID 1 of its namespace), once its job came: the rest of a fresh sandbox."""
    for fd, target in ((job.stdin, 0), (job.stdout, 1), (job.stderr, 2)):
        os.dup2(fd, target)
    # joined before anything of the job can fork; then the job's group is the root it sees
    for fd in job.cgroups:
        try:
            os.write(fd, b'0')
        except OSError as error:
            raise SetupError('cannot join the job cgroup: %s' % error.strerror)
    check(unshare(CLONE_NEWCGROUP), 'unshare cgroup')
    mount('tmpfs', WORKDIR, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=%d,mode=755,uid=%d,gid=%d' % (job.disk, UID, GID))
    mount('tmpfs', '/dev/shm', 'tmpfs', MS_NOSUID | MS_NODEV, 'size=%d,mode=1777,uid=%d,gid=%d' % (job.disk, UID, GID))
    os.chdir(WORKDIR)
    os.mkdir('.tmp')
    os.chmod('.tmp', 0o1777)
    out = os.open(MAIN, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    size, at = os.fstat(job.source).st_size, 0
    while at < size:
        sent = os.sendfile(out, job.source, at, size - at)
        if sent == 0:
            raise SetupError('the source was cut short')
        at += sent
    os.close(out)
    mount(MAIN, MAIN, None, MS_BIND)
    mount(None, MAIN, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.setsid()
    cpu, nproc, fsize, nofile, address_space = job.limits
    for which, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_NPROC, nproc),
                         (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_NOFILE, nofile),
                         (resource.RLIMIT_CORE, 0), (resource.RLIMIT_AS, address_space)):
        resource.setrlimit(which, (value, value))
    for cap in prepared.caps:
        prctl(PR_CAPBSET_DROP, cap)
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    check(capset(prepared.cap_header, prepared.no_caps), 'capset')
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prepared.fprog_address, 0, 0), 'seccomp')
    # the program cannot read or write the memory of its PID 1
    prctl(PR_SET_DUMPABLE, 0)
    # every descriptor but the standard streams and the status pipe (close_range: no listing of /proc/self/fd)
    os.closerange(3, job.status)
    os.closerange(job.status + 1, prepared.fd_limit)


def be_init(job):
    """PID 1 of the job: forks the program, reaps, ends with the program (taking the rest along)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pid = os.fork()
    if pid == 0:
        os.close(job.status)
        prctl(PR_SET_DUMPABLE, 1)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return
    os.write(job.status, b'R')
    os.close(job.status)
    while True:
        try:
            child, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(255)
        except BaseException:
            continue
        if child == pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code & 0xff)


def start_job(job, prepared):
    """In the cloned child: the sandbox, then PID 1's fork; returns in the program's process."""
    try:
        if job.failed:
            raise job.failed
        enter_sandbox(job, prepared)
    except BaseException as error:
        try:
            os.write(job.status, b'E' + str(error).encode(errors='replace')[:500])
        finally:
            os._exit(125)
    be_init(job)


def report_failure(text):
    os.write(2, ('collab fork server: %s\n' % text).encode(errors='replace'))


def forget_imports():
    """
    Takes the server's own imports out of sys.modules, so that a program finds the modules a fresh
    interpreter has. Done here rather than in each program's process, where touching every entry
    would copy the pages they sit on; the server only ever adds modules, so the count tells.
    """
    if len(sys.modules) != len(BASELINE):
        for name in list(sys.modules):
            if name not in BASELINE:
                del sys.modules[name]


class Server:
    def __init__(self):
        self.control = _socket.socket(fileno=3)
        self.poller = select.poll()
        self.poller.register(3, select.POLLIN)
        self.by_pidfd = {}
        self.by_status = {}
        self.pids = {}
        self.prepared = None
        # the next job's child, cloned ahead: (pid, pidfd, socket)
        self.spare = None
        self.spare_error = 'no child for the job'

    def receive(self):
        return receive_fds(self.control)

    def send(self, message):
        try:
            self.control.send(json.dumps(message, separators=(',', ':')).encode())
        except OSError:
            os._exit(0)

    def clone_spare(self):
        """Clones the next job's child; returns its Job in the child (once it came), None in the server."""
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        forget_imports()
        # the server's objects out of the collector's reach: a child's collections never write to their pages
        gc.freeze()
        before_fork()
        pid = held.syscall(SYS_CLONE, CLONE_FLAGS | signal.SIGCHLD, None, None, None, None)
        if pid == 0:
            after_fork_child()
            ours.close()
            return wait_for_job(theirs, self.prepared)
        error = ctypes.get_errno()
        after_fork_parent()
        theirs.close()
        if pid < 0:
            ours.close()
            self.spare_error = 'cannot fork: %s' % os.strerror(error)
            return None
        self.spare = (pid, os.pidfd_open(pid), ours)
        return None

    def fork(self, request, fds):
        """Hands a job to the child cloned ahead for it (cloning one now if there is none)."""
        if self.prepared is None or len(fds) < 4:
            for fd in fds:
                os.close(fd)
            self.send({'id': request.get('id'), 'error': 'malformed fork request'})
            return None
        status_read, status_write = os.pipe2(os.O_CLOEXEC)
        header = json.dumps({'id': request['id'], 'limits': request['limits'], 'disk': request['disk']}).encode()
        rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack('%di' % (len(fds) + 1), *fds, status_write))]
        # the child cloned ahead, or one cloned now; a second try when the first had died meanwhile
        handed = None
        for _ in range(2):
            if self.spare is None:
                job = self.clone_spare()
                if job is not None:
                    return job
            if self.spare is None:
                break
            (pid, pidfd, sock), self.spare = self.spare, None
            try:
                sock.sendmsg([header], rights)
                handed = (pid, pidfd)
            except OSError as error:
                self.spare_error = 'the job\'s child is gone: %s' % (error.strerror or error)
                os.close(pidfd)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            sock.close()
            if handed:
                break
        for fd in fds + [status_write]:
            os.close(fd)
        if not handed:
            os.close(status_read)
            self.send({'id': request['id'], 'error': self.spare_error})
            return None
        pid, pidfd = handed
        self.by_pidfd[pidfd] = (request['id'], pid)
        self.by_status[status_read] = request['id']
        self.pids[request['id']] = pid
        self.poller.register(pidfd, select.POLLIN)
        self.poller.register(status_read, select.POLLIN)
        return None

    def on_status(self, fd):
        job_id = self.by_status.pop(fd)
        data = os.read(fd, 1024)
        self.poller.unregister(fd)
        os.close(fd)
        if data.startswith(b'R'):
            self.send({'id': job_id, 'ready': 1})
        else:
            self.send({'id': job_id, 'error': data[1:].decode(errors='replace') or 'the job sandbox did not start'})

    def on_exit(self, fd):
        job_id, pid = self.by_pidfd.pop(fd)
        self.poller.unregister(fd)
        os.close(fd)
        self.pids.pop(job_id, None)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        # a status byte still unread is read first, so ready or error precedes exit
        for status_fd, owner in list(self.by_status.items()):
            if owner == job_id:
                self.on_status(status_fd)
        self.send({'id': job_id, 'exit': 128 - code if code < 0 else code})

    def serve(self):
        while True:
            if self.spare is None and self.prepared is not None:
                job = self.clone_spare()
                if job is not None:
                    return job
            for fd, _ in self.poller.poll():
                if fd == 3:
                    data, fds = self.receive()
                    if not data:
                        os._exit(0)
                    request = json.loads(data)
                    if 'seccomp' in request:
                        self.prepared = Prepared(base64.b64decode(request['seccomp']))
                    elif 'kill' in request:
                        pid = self.pids.get(request['kill'])
                        if pid is not None:
                            os.kill(pid, signal.SIGKILL)
                    else:
                        job = self.fork(request, fds)
                        if job is not None:
                            return job
                elif fd in self.by_status:
                    self.on_status(fd)
                elif fd in self.by_pidfd:
                    self.on_exit(fd)


def exit_code(error):
    """What CPython's handling of an uncaught SystemExit makes the exit status (printing a non-int)."""
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xff
    try:
        if sys.stderr is not None:
            sys.stderr.write(str(code) + '\n')
    except BaseException:
        pass
    return 1


def finish(main, code, interrupted=False):
    """
    The interpreter's shutdown as a program sees it (threads joined, atexit, its globals released,
    the streams flushed), then _exit: tearing down the server's heap too would fault in a copy of
    every page it shares with the server, most of the cost of a short job.
    """
    try:
        if 'threading' in sys.modules:
            sys.modules['threading']._shutdown()
    except BaseException:
        pass
    import atexit
    atexit._run_exitfuncs()
    main.__dict__.clear()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:
            code = 120
    if interrupted:
        # as CPython ends on an unhandled KeyboardInterrupt: by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def run_program():
    """In the program's process: what `python3 -u main.py` does, from reading main.py on."""
    sys.path_importer_cache.pop(WORKDIR, None)
    import builtins
    SourceFileLoader = sys.modules['_frozen_importlib_external'].SourceFileLoader
    main = type(sys)('__main__')
    main.__dict__.update(__annotations__={}, __file__=MAIN, __cached__=None, __builtins__=builtins,
                         __loader__=SourceFileLoader('__main__', MAIN))
    sys.modules['__main__'] = main
    try:
        with open(MAIN, 'rb') as file:
            code = compile(file.read(), MAIN, 'exec', dont_inherit=True)
    except SyntaxError:
        kind, value = sys.exc_info()[:2]
        value.__traceback__ = None
        sys.last_type, sys.last_value, sys.last_traceback = kind, value, None
        sys.excepthook(kind, value, None)
        finish(main, 1)
    try:
        exec(code, main.__dict__)
    except SystemExit as error:
        finish(main, exit_code(error))
    except BaseException:
        kind, value, trace = sys.exc_info()
        trace = trace.tb_next
        value.__traceback__ = trace
        sys.last_type, sys.last_value, sys.last_traceback = kind, value, trace
        try:
            sys.excepthook(kind, value, trace)
        except BaseException:
            pass
        del kind, value, trace
        finish(main, 1, isinstance(sys.last_value, KeyboardInterrupt))
    finish(main, 0)


def main():
    os.closerange(4, os.sysconf('SC_OPEN_MAX'))
    # compile() makes the interpreter's AST types the first time it runs: made here once, every
    # program's process shares them instead of building them anew (~130 pages and ~1 ms a job)
    compile(b'pass\n', MAIN, 'exec', dont_inherit=True)
    server = Server()
    try:
        job = server.serve()
    except BaseException as error:
        report_failure(repr(error))
        os._exit(70)
    start_job(job, server.prepared)
    del server, job


main()
run_program()
