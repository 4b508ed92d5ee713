# The spawner: a small Python process that starts sandbox processes for the worker with
# posix_spawn (vfork), so a start costs the same whatever the worker's size, and the worker's event
# loop never waits for a fork. It also runs the fork servers (zygote.py): it starts each in its
# sandbox, and hands it each job's descriptors (pipes, the source as a memfd, the job's cgroup.procs
# opened here) over a unix socket, so no job data ever enters the fork server's memory.
#
# Protocol with the worker, one JSON object per line. In (stdin):
# {"id", "file", "args", "env", "cwd", "stdin", "cap", "seccomp"} starts a process (seccomp,
# base64, is readable on its fd 4, then EOF); {"zygote": key, "file", "args", "env", "cwd",
# "script", "seccomp"} defines a fork server and starts it (the script, base64, is readable on its
# fd 4, its control socket is fd 3); {"id", "fork": key, "code", "stdin", "cap", "limits",
# "disk", "cgroups"} runs a job through it; {"id", "kill": true} kills a job of a fork server;
# {"id", "drop": true} stops reading its pipes. Out (stdout): {"id", "pid"} (a started process,
# not a fork server's job) or {"id", "error"};
# {"id", "fd": 1|2, "data": base64} (at most cap bytes per stream, the rest is read and counted);
# {"id", "ready": true} (a byte on fd 3, or the fork server's word); {"id", "exit": code} (128 +
# signal for a signal); {"id", "closed": true, "dropped": [out, err]} once it exited and its pipes
# closed; {"zygote": key, "exit": code} when a fork server ended. EOF on stdin kills every process
# group it started, then the spawner exits.
import array, base64, json, os, select, signal, socket, sys

out = sys.stdout.buffer
poller = select.poll()
jobs = {}
by_fd = {}
by_pid = {}
zygotes = {}
zygote_by_fd = {}
zygote_by_pid = {}

def send(message):
    # flushed once per turn of the main loop: what one wake-up produced reaches the worker in one write
    out.write(json.dumps(message, separators=(',', ':')).encode() + b'\n')

class Job:
    def __init__(self, request):
        self.id = request['id']
        self.cap = request['cap']
        self.stdin = request.get('stdin', '').encode()
        self.pid = None
        self.readers = {}
        self.writer = None
        self.sent = {1: 0, 2: 0}
        self.dropped = {1: 0, 2: 0}
        self.exited = False
        self.silent = False
        self.zygote = None

    def close_fd(self, fd):
        by_fd.pop(fd, None)
        try:
            poller.unregister(fd)
        except KeyError:
            pass
        os.close(fd)
        if fd == self.writer:
            self.writer = None
        else:
            self.readers.pop(fd, None)

    def finish_if_done(self):
        if self.exited and not self.readers:
            if self.writer is not None:
                self.close_fd(self.writer)
            jobs.pop(self.id, None)
            if self.zygote:
                self.zygote.jobs.pop(self.id, None)
            if not self.silent:
                send({'id': self.id, 'closed': True, 'dropped': [self.dropped[1], self.dropped[2]]})

def filter_pipe(data):
    # The filter is a few hundred bytes: it fits the pipe's buffer, then EOF.
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)
    finally:
        os.close(write_end)
    return read_end

def watch(job, writer, readers):
    """Polls a started job's pipes: stdout, stderr (and the ready pipe) to read, stdin to write or close."""
    for stream, fd in enumerate(readers, start=1):
        job.readers[fd] = stream
        by_fd[fd] = job
        poller.register(fd, select.POLLIN)
    job.writer = writer
    by_fd[writer] = job
    if job.stdin:
        os.set_blocking(writer, False)
        poller.register(writer, select.POLLOUT)
    else:
        job.close_fd(writer)

def spawn(command, child_ends):
    """posix_spawns command {file, args, env, cwd} in a new session with child_ends as its fds 0, 1, 2…"""
    actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(child_ends)]
    try:
        os.chdir(command['cwd'])
        return os.posix_spawn(command['file'], [command['file']] + command['args'], command['env'],
                              file_actions=actions, setsid=True, setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    finally:
        os.chdir('/')

def start(request):
    job = Job(request)
    pipes = [os.pipe() for _ in range(4)]
    child_ends = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
    mine = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
    if request.get('seccomp'):
        child_ends.append(filter_pipe(base64.b64decode(request['seccomp'])))
    try:
        job.pid = spawn(request, child_ends)
    except OSError as error:
        for fd in child_ends + mine:
            os.close(fd)
        send({'id': job.id, 'error': 'cannot spawn %s: %s' % (request['file'], error.strerror or error)})
        return
    for fd in child_ends:
        os.close(fd)
    jobs[job.id] = job
    by_pid[job.pid] = job
    watch(job, mine[0], mine[1:])
    send({'id': job.id, 'pid': job.pid})

class Zygote:
    """One fork server: its sandbox process, control socket and running jobs."""

    def __init__(self, key, definition):
        self.key = key
        self.jobs = {}
        self.pid = None
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stdin_r, stdin_w = os.pipe()
        os.close(stdin_w)
        out_r, out_w = os.pipe()
        os.close(out_r)
        self.err, err_w = os.pipe()
        script = filter_pipe(base64.b64decode(definition['script']))
        child_ends = [stdin_r, out_w, err_w, theirs.fileno(), script]
        try:
            self.pid = spawn(definition, child_ends)
        except OSError as error:
            self.error = 'cannot start the fork server: %s' % (error.strerror or error)
        else:
            self.error = None
        finally:
            for fd in child_ends:
                os.close(fd)
            theirs.detach()
        if self.error:
            self.control.close()
            os.close(self.err)
            return
        zygote_by_pid[self.pid] = self
        zygote_by_fd[self.control.fileno()] = self
        zygote_by_fd[self.err] = self
        poller.register(self.control.fileno(), select.POLLIN)
        poller.register(self.err, select.POLLIN)
        self.send({'seccomp': definition['seccomp']})

    @property
    def alive(self):
        return self.error is None

    def send(self, message, fds=()):
        try:
            ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', fds))] if fds else []
            self.control.sendmsg([json.dumps(message).encode()], ancillary)
            return True
        except OSError:
            return False

    def on_event(self, fd):
        if fd == self.err:
            data = os.read(fd, 65536)
            if data:
                os.write(2, data)
                return
            poller.unregister(fd)
            del zygote_by_fd[fd]
            return
        try:
            data = self.control.recv(65536)
        except OSError:
            data = b''
        if not data:
            self.stop('the fork server stopped during the run')
            return
        message = json.loads(data)
        job = self.jobs.get(message.get('id'))
        if job is None:
            return
        if 'ready' in message:
            send({'id': job.id, 'ready': True})
        elif 'exit' in message:
            job.exited = True
            send({'id': job.id, 'exit': message['exit']})
            job.finish_if_done()
        elif 'error' in message:
            self.fail(job, message['error'])

    def fail(self, job, error):
        if not job.silent:
            send({'id': job.id, 'error': error})
        job.silent = True
        job.exited = True
        for fd in list(job.readers):
            job.close_fd(fd)
        job.finish_if_done()

    def stop(self, why):
        if self.error is None:
            self.error = why
            fd = self.control.fileno()
            poller.unregister(fd)
            del zygote_by_fd[fd]
            self.control.close()
            if zygotes.get(self.key) is self:
                del zygotes[self.key]
        for job in list(self.jobs.values()):
            self.fail(job, why)


definitions = {}


def define_zygote(request):
    definitions[request['zygote']] = request
    old = zygotes.pop(request['zygote'], None)
    if old:
        old.stop('the fork server was replaced')
    zygotes[request['zygote']] = Zygote(request['zygote'], request)


def fork(request):
    job = Job(request)
    key = request['fork']
    zygote = zygotes.get(key)
    if (zygote is None or not zygote.alive) and key in definitions:
        zygote = zygotes[key] = Zygote(key, definitions[key])
    if zygote is None or not zygote.alive:
        send({'id': job.id, 'error': zygote.error if zygote else 'no fork server %s' % key})
        return
    passed = []
    try:
        source = os.memfd_create('main', os.MFD_CLOEXEC)
        passed.append(source)
        code = base64.b64decode(request['code'])
        while code:
            code = code[os.write(source, code):]
        for path in request.get('cgroups', []):
            passed.append(os.open(path, os.O_WRONLY | os.O_CLOEXEC))
    except OSError as error:
        for fd in passed:
            os.close(fd)
        send({'id': job.id, 'error': 'cannot prepare the job: %s' % (error.strerror or error)})
        return
    pipes = [os.pipe() for _ in range(3)]
    child_ends = [pipes[0][0], pipes[1][1], pipes[2][1]]
    mine = [pipes[0][1], pipes[1][0], pipes[2][0]]
    header = {'id': job.id, 'limits': request['limits'], 'disk': request['disk']}
    sent = zygote.send(header, child_ends + passed)
    for fd in child_ends + passed:
        os.close(fd)
    if not sent:
        for fd in mine:
            os.close(fd)
        zygote.stop('the fork server stopped')
        send({'id': job.id, 'error': 'the fork server did not take the job'})
        return
    job.zygote = zygote
    zygote.jobs[job.id] = job
    jobs[job.id] = job
    watch(job, mine[0], mine[1:])


def drop(request):
    job = jobs.get(request['id'])
    if job:
        job.silent = True
        for fd in list(job.readers):
            job.close_fd(fd)
        job.finish_if_done()

def on_request(line):
    request = json.loads(line)
    if request.get('drop'):
        drop(request)
    elif 'zygote' in request:
        define_zygote(request)
    elif 'fork' in request:
        fork(request)
    elif request.get('kill'):
        job = jobs.get(request['id'])
        if job and job.zygote:
            job.zygote.send({'kill': job.id})
    else:
        start(request)

def on_read(job, fd):
    stream = job.readers[fd]
    data = os.read(fd, 65536)
    if not data:
        job.close_fd(fd)
        job.finish_if_done()
    elif stream == 3:
        if not job.silent:
            send({'id': job.id, 'ready': True})
    else:
        room = max(0, job.cap - job.sent[stream])
        kept = data[:room]
        job.sent[stream] += len(kept)
        job.dropped[stream] += len(data) - len(kept)
        if kept and not job.silent:
            send({'id': job.id, 'fd': stream, 'data': base64.b64encode(kept).decode()})

def on_write(job, fd, events):
    try:
        if events & select.POLLOUT:
            written = os.write(fd, job.stdin)
            job.stdin = job.stdin[written:]
            if job.stdin:
                return
    except BlockingIOError:
        return
    except OSError:
        pass
    job.close_fd(fd)

def reap():
    while by_pid or zygote_by_pid:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        zygote = zygote_by_pid.pop(pid, None)
        if zygote:
            zygote.stop('the fork server stopped during the run')
            send({'zygote': zygote.key, 'exit': os.waitstatus_to_exitcode(status)})
            continue
        job = by_pid.pop(pid, None)
        if job:
            code = os.waitstatus_to_exitcode(status)
            job.exited = True
            if not job.silent:
                send({'id': job.id, 'exit': 128 - code if code < 0 else code})
            job.finish_if_done()

def shutdown():
    for pid in list(by_pid) + list(zygote_by_pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    sys.exit(0)

def main():
    os.chdir('/')
    # Whatever the worker inherited and passed on stays out of the sandboxes.
    os.closerange(3, os.sysconf('SC_OPEN_MAX'))
    # Pipes must never land on fds 0-4, which the children get by dup2.
    while os.open('/dev/null', os.O_RDONLY | os.O_CLOEXEC) < 4:
        pass
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller.register(0, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    pending = b''
    while True:
        for fd, events in poller.poll():
            if fd == 0:
                data = os.read(0, 1 << 20)
                if not data:
                    shutdown()
                pending += data
                *lines, pending = pending.split(b'\n')
                for line in lines:
                    on_request(line)
            elif fd == wake_r:
                os.read(wake_r, 4096)
                reap()
            elif fd in zygote_by_fd:
                zygote_by_fd[fd].on_event(fd)
            else:
                job = by_fd.get(fd)
                if job is None:
                    continue
                if fd == job.writer:
                    on_write(job, fd, events)
                else:
                    on_read(job, fd)
        out.flush()

main()
