"""One worker process, seen from the grader: start it in its sandbox, send it requests, kill it.

The worker (``autograder.grading.worker_main``) runs in a ``sandbox.Box``: a private
folder with a copy of the grader's worker modules, a copy of the submission's
package and a scratch folder, isolated by the mechanism ``sandbox.choose``
picked (bubblewrap, Landlock + seccomp, or none).  It has its own process
group, a minimal environment (no tokens or CI variables from the grader's),
and the resource limits of the rubric.  Requests and responses travel on two
private pipes (see ``wire``); the worker's stdout and stderr go to a
``Capture`` that keeps only the first few kilobytes.

One ``Monitor`` thread per worker reads both output pipes with ``select``
(never a blocking read that a leftover process holding the pipe could stall)
and watches the scratch folder's size.  ``Worker.kill`` SIGKILLs the group,
then sweeps: it waits until no process of the worker's group (or, as this
process is a child subreaper, no orphan carrying the worker's id) is left,
before the box is deleted and any report is written.

When the grader runs as root and ``AUTOGRADER_WORKER_USER`` names an account,
the worker runs as that account.
"""
import os
import secrets
import select
import signal
import subprocess
import threading
import time

from autograder import sandbox
from autograder.grading import wire

SCRATCH_CHECK_SECONDS = 0.2
BOOTSTRAP = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "sys.path.insert(0, sys.argv[1]); "
    "from autograder.grading.worker_main import main; main(sys.argv[2:])"
)


class Capture:
    """What the submission printed: the first ``limit`` bytes and the last ``tail`` bytes."""

    def __init__(self, limit=3000, tail=1000):
        self.limit, self.total, self._head = limit, 0, bytearray()
        self._tail, self._tail_size = bytearray(), tail
        self._lock = threading.Lock()

    def feed(self, chunk):
        with self._lock:
            self.total += len(chunk)
            room = self.limit - len(self._head)
            if room > 0:
                self._head += chunk[:room]
            self._tail = (self._tail + chunk[-self._tail_size:])[-self._tail_size:]

    def tail(self):
        """The last bytes printed (for crash messages)."""
        with self._lock:
            return bytes(self._tail).decode("utf-8", errors="replace")

    def text(self):
        """The kept output, with a note saying how much was cut."""
        with self._lock:
            head, total = bytes(self._head), self.total
        text = head.decode("utf-8", errors="replace")
        if total > len(head):
            text += f"\n[... {total - len(head)} more bytes not shown]"
        return text


def _environment(scratch, worker_id):
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",  # a tiny model: one thread is fastest, and the same on every machine
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "AUTOGRADER_WORKER_ID": worker_id,
    }


_subreaper = []


def become_subreaper():
    """Adopt the orphans of our workers (Linux), so that a double-forked process cannot hide."""
    if not _subreaper:
        try:
            from autograder.sandbox import confine

            confine.prctl(confine.PR_SET_CHILD_SUBREAPER, 1)
            _subreaper.append(True)
        except (OSError, AttributeError):
            _subreaper.append(False)
    return _subreaper[0]


def _processes():
    """(pid, ppid, pgid, state) of every process, from /proc (empty where there is none)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        found.append((int(name), int(fields[1]), int(fields[2]), fields[0]))
    return found


def _carries(pid, worker_id):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"AUTOGRADER_WORKER_ID={worker_id}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def sweep(pgid, worker_id, timeout=10.0):
    """SIGKILL and reap every process of group ``pgid`` and every adopted orphan carrying ``worker_id``.

    Returns True once none is left (a PID namespace's init is gone only when
    all its processes are), False if some survived ``timeout`` seconds.
    """
    me, deadline = os.getpid(), time.monotonic() + timeout
    ours = set()  # once found, a process is followed by its pid until it is gone (a dying one hides its environ)
    while True:
        table = {pid: (ppid, group, state) for pid, ppid, group, state in _processes()}
        for pid, (ppid, group, state) in table.items():
            if pid != me and pid not in ours and (group == pgid or (ppid == me and _carries(pid, worker_id))):
                ours.add(pid)
        ours &= set(table)
        if not ours:
            return True
        for pid in ours:
            ppid, _, state = table[pid]
            if state != "Z":
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if ppid == me:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)


def kill_group(proc, worker_id):
    """SIGKILL the process group that ``proc`` (a Popen started in a new session) leads, reap ``proc``
    and ``sweep`` whatever is left of the group or carries ``worker_id``."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a zombie we cannot reap
        pass
    sweep(proc.pid, worker_id)


class Monitor(threading.Thread):
    """Reads the worker's stdout and stderr into the Capture and polices the scratch folder."""

    def __init__(self, fds, capture, worker, max_bytes, max_entries):
        super().__init__(daemon=True)
        self.fds, self.capture, self.worker = list(fds), capture, worker
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._wake_r, self._wake_w = os.pipe()
        for fd in self.fds:
            os.set_blocking(fd, False)

    def run(self):
        next_check = time.monotonic() + SCRATCH_CHECK_SECONDS
        poller = select.poll()  # not select(): a long-lived grader may hold descriptors above 1024
        for fd in self.fds + [self._wake_r]:
            poller.register(fd, select.POLLIN)
        while True:
            try:
                ready = [fd for fd, _ in poller.poll(SCRATCH_CHECK_SECONDS * 1000)]
            except OSError:
                return
            if self._wake_r in ready:
                return
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    self.capture.feed(chunk)
                else:
                    poller.unregister(fd)  # end of file: every writer has closed it
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + SCRATCH_CHECK_SECONDS
                self._police_scratch()

    def _police_scratch(self):
        used, entries, too_deep = self.worker.box.scratch_usage(self.max_entries)
        if used > self.max_bytes or entries > self.max_entries or too_deep:
            what = (f"{used // 2**20} MB" if used > self.max_bytes else f"more than {self.max_entries} files"
                    if entries > self.max_entries else f"folders nested more than {sandbox.SCRATCH_DEPTH} deep")
            self.worker.stop(f"it wrote {what} into its scratch folder (the limit is "
                             f"{self.max_bytes // 2**20} MB in {self.max_entries} files, "
                             f"{sandbox.SCRATCH_DEPTH} folders deep)")

    def stop(self):
        """End the thread (it never waits for the pipes' writers), then close everything."""
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        if self is not threading.current_thread():
            self.join(timeout=5)
        for fd in self.fds + [self._wake_r, self._wake_w]:
            try:
                os.close(fd)
            except OSError:
                pass


class Worker:
    """A started worker process for one submission, in its sandbox."""

    def __init__(self, submission, limits, capture, mechanism, extra_settings=None, template=None):
        """``template``: a ``template.Template`` of this mechanism to fork the worker from (torch
        already imported); when it cannot, the worker is started from nothing, as without one."""
        self.mechanism = mechanism
        self.reply_cap = int(limits.reply_mb * 2**20)
        self.killed_because = None
        self.worker_id = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._finished = False
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        mine, theirs = (self._request_w, self._response_r, out_r, err_r), (request_r, response_w, out_w, err_w)
        try:
            self.proc = self.template = None
            if template is not None:
                self._fork(template, submission, limits, extra_settings, theirs)
            if self.proc is None:
                self._start(submission, limits, extra_settings, theirs)
        except BaseException:
            for fd in mine:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        os.set_blocking(self._request_w, False)
        os.set_blocking(self._response_r, False)
        self._monitor = Monitor((out_r, err_r), capture, self, int(limits.scratch_mb * 2**20),
                                int(limits.scratch_files))
        self._monitor.start()

    def _settings(self, limits, extra_settings):
        settings = self.box.settings(int(limits.memory_mb * 2**20), int(limits.file_mb * 2**20),
                                     int(limits.total_budget + limits.import_timeout + 30))
        settings.update(submission_path=self.box.submission, **(extra_settings or {}))
        return settings

    def _fork(self, template, submission, limits, extra_settings, fds):
        """Fork the worker from ``template``; leaves ``self.proc`` None when the template cannot."""
        from autograder.grading.template import TemplateFailure

        try:
            template.start()   # a fresh template, if the last one failed
            self.box = template.box
            settings = dict(self._settings(limits, extra_settings),
                            environment={"AUTOGRADER_WORKER_ID": self.worker_id},
                            landlock_too=self.mechanism == "bwrap")   # see template.py
            self.proc = template.fork(submission, settings, fds)
        except (TemplateFailure, OSError):
            self.box = self.proc = None
            return
        self.box, self.template = template.box, template

    def _start(self, submission, limits, extra_settings, fds):
        """Start the worker from nothing: a new interpreter in a new box."""
        self.box = sandbox.Box(self.mechanism, submission, limits)
        account = sandbox.worker_account()
        as_user = {}
        if account:
            os.chown(self.box.host_scratch, *account)
            as_user = {"user": account[0], "group": account[1], "extra_groups": []}
        become_subreaper()
        request_r, response_w, out_w, err_w = fds
        settings = self._settings(limits, extra_settings)
        settings.update(request_fd=request_r, response_fd=response_w)
        env = _environment(self.box.scratch, self.worker_id)
        argv = self.box.command(["-s", "-B", "-u", "-c", BOOTSTRAP, self.box.grader, wire_json(settings)], env)
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w,
                pass_fds=(request_r, response_w), cwd=self.box.host_scratch,
                env=env, start_new_session=True, **as_user)
        except BaseException:
            self.box.remove()
            raise

    def request(self, probe, kwargs, deadline, max_reply=None):
        """Send one request and wait for its response until ``deadline`` (time.monotonic()).

        ``max_reply`` (bytes, default: a few times the request, within the
        rubric's ``reply_mb``) bounds the response before it is read.
        Raises wire.Timeout, wire.Closed (the worker died) or wire.WireError.
        """
        size = self.send(probe, kwargs, deadline)
        if max_reply is None:
            max_reply = min(self.reply_cap, 8 * size + 8 * 2**20)
        return self.receive(deadline, max_reply)

    def send(self, probe, kwargs, deadline):
        """Write one request (the worker answers in order); returns its size in bytes."""
        data = wire.encode({"probe": probe, "kwargs": kwargs})
        wire.write_message(self._request_w, data, deadline)
        return len(data)

    def receive(self, deadline, max_reply):
        """Read the next response, of at most ``max_reply`` bytes, until ``deadline``."""
        return wire.read_message(self._response_r, deadline, min(max_reply, self.reply_cap))

    def ready(self, deadline):
        """The worker's first message, sent after it confined itself and before any student code ran.

        Returns None when it is ready, else the reason it could not confine
        itself.  Raises wire.Timeout or wire.Closed (it never got that far).
        """
        message = wire.read_message(self._response_r, deadline, 2**16)
        if message == {"ready": True}:
            return None
        if isinstance(message, dict) and isinstance(message.get("internal"), str):
            return message["internal"][:1000]
        return f"the worker's first message was not the expected one: {str(message)[:200]}"

    def stop(self, reason):
        """Kill the worker's processes now, remembering why (the monitor's scratch limit)."""
        with self._lock:
            if self.killed_because is None:
                self.killed_because = reason
        if self.template is not None:
            self.proc.kill()
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def kill(self):
        """SIGKILL the whole process group, sweep up every descendant, release everything."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        if self.template is not None:  # the template kills and reaps it; its box is emptied by the next fork
            self.proc.kill()
        else:
            kill_group(self.proc, self.worker_id)
        self._monitor.stop()
        for fd in (self._request_w, self._response_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.template is None:
            self.box.remove()

    def exit_description(self, wait=1.0):
        """'exit code 3' or 'killed by signal SIGSEGV' once the process has ended, else 'no exit status'."""
        try:
            code = self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return "no exit status"
        if self.killed_because:
            return f"killed by the grader: {self.killed_because}"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        if self.mechanism == "bwrap" and self.template is None and code > 128 and code - 128 in signal.Signals._value2member_map_:
            return f"killed by signal {signal.Signals(code - 128).name}"  # bubblewrap's way of saying so
        return f"exit code {code}"


def wire_json(settings):
    """The worker's settings as one command-line argument."""
    import json

    return json.dumps(settings, sort_keys=True)
