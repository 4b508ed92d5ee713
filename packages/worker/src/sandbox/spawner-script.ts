/**
 * The spawner: a small Python process that starts sandbox processes for the
 * worker with posix_spawn (vfork), so a start costs the same whatever the
 * worker's size, and the worker's event loop never waits for a fork.
 *
 * Protocol, one JSON object per line. In (stdin):
 * `{"id", "file", "args", "env", "cwd", "stdin", "cap", "seccomp"}` starts a
 * process (`seccomp`, base64, is readable on its fd 4, then EOF);
 * `{"id", "drop": true}` stops reading its pipes. Out (stdout):
 * `{"id", "pid"}` or `{"id", "error"}`; `{"id", "fd": 1|2, "data": base64}`
 * (at most `cap` bytes per stream, the rest is read and counted);
 * `{"id", "ready": true}` (a byte on fd 3); `{"id", "exit": code}` (128 +
 * signal for a signal); `{"id", "closed": true, "dropped": [out, err]}` once
 * it exited and its pipes closed. EOF on stdin kills every process group it
 * started, then the spawner exits.
 */
export const SPAWNER_SCRIPT = String.raw`
import base64, json, os, select, signal, sys

out = sys.stdout.buffer
poller = select.poll()
jobs = {}
by_fd = {}
by_pid = {}

def send(message):
    out.write(json.dumps(message, separators=(',', ':')).encode() + b'\n')
    out.flush()

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

def start(request):
    job = Job(request)
    pipes = [os.pipe() for _ in range(4)]
    child_ends = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][1]]
    mine = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][0]]
    if request.get('seccomp'):
        child_ends.append(filter_pipe(base64.b64decode(request['seccomp'])))
    actions = [(os.POSIX_SPAWN_DUP2, fd, target) for target, fd in enumerate(child_ends)]
    try:
        os.chdir(request['cwd'])
        job.pid = os.posix_spawn(request['file'], [request['file']] + request['args'], request['env'],
                                 file_actions=actions, setsid=True,
                                 setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    except OSError as error:
        for fd in child_ends + mine:
            os.close(fd)
        send({'id': job.id, 'error': 'cannot spawn %s: %s' % (request['file'], error.strerror or error)})
        return
    finally:
        os.chdir('/')
    for fd in child_ends:
        os.close(fd)
    jobs[job.id] = job
    by_pid[job.pid] = job
    for stream, fd in ((1, mine[1]), (2, mine[2]), (3, mine[3])):
        job.readers[fd] = stream
        by_fd[fd] = job
        poller.register(fd, select.POLLIN)
    job.writer = mine[0]
    by_fd[job.writer] = job
    if job.stdin:
        os.set_blocking(job.writer, False)
        poller.register(job.writer, select.POLLOUT)
    else:
        job.close_fd(job.writer)
    send({'id': job.id, 'pid': job.pid})

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
    while by_pid:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job = by_pid.pop(pid, None)
        if job:
            code = os.waitstatus_to_exitcode(status)
            job.exited = True
            if not job.silent:
                send({'id': job.id, 'exit': 128 - code if code < 0 else code})
            job.finish_if_done()

def shutdown():
    for pid in list(by_pid):
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
            else:
                job = by_fd.get(fd)
                if job is None:
                    continue
                if fd == job.writer:
                    on_write(job, fd, events)
                else:
                    on_read(job, fd)

main()
`;
