"""One worker process, seen from the grader: start it, send it requests, kill it.

The worker (``autograder.worker_main``) runs in its own process group with a
scratch working directory, a minimal environment (no tokens or CI variables
from the grader's), limited memory and file sizes.  Requests and responses
travel on two private pipes (see ``wire``); the worker's stdout and stderr
go to a ``Capture`` that keeps only the first few kilobytes.

When the grader runs as root and ``AUTOGRADER_WORKER_USER`` names an account,
the worker runs as that account: the student's code can then neither signal
the grader nor write its files.
"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

from . import wire

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    f"sys.path.insert(0, {ROOT!r}); "
    "from autograder.worker_main import main; main()"
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


def _drain(stream, capture):
    try:
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                return
            capture.feed(chunk)
    except (OSError, ValueError):
        return


def _environment(scratch):
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": scratch,
        "TMPDIR": scratch,
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",  # a tiny model: one thread is fastest, and the same on every machine
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    }


def worker_account():
    """(uid, gid) to run the worker as, or None: AUTOGRADER_WORKER_USER, honoured only for root."""
    name = os.environ.get("AUTOGRADER_WORKER_USER")
    if not name or os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


class Worker:
    """A started worker process for one submission."""

    def __init__(self, submission, memory_bytes, file_bytes, capture):
        self.scratch = tempfile.mkdtemp(prefix="autograder-worker-")
        account = worker_account()
        as_user = {}
        if account:
            os.chown(self.scratch, *account)
            as_user = {"user": account[0], "group": account[1], "extra_groups": []}
        request_r, self._request_w = os.pipe()
        self._response_r, response_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-s", "-B", "-u", "-c", BOOTSTRAP, os.path.abspath(submission),
                 str(request_r), str(response_w), str(memory_bytes), str(file_bytes)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(request_r, response_w), cwd=self.scratch,
                env=_environment(self.scratch), start_new_session=True, **as_user)
        except BaseException:
            for fd in (self._request_w, self._response_r):
                os.close(fd)
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        finally:
            os.close(request_r)
            os.close(response_w)
        os.set_blocking(self._request_w, False)
        os.set_blocking(self._response_r, False)
        self._threads = [threading.Thread(target=_drain, args=(s, capture), daemon=True)
                         for s in (self.proc.stdout, self.proc.stderr)]
        for thread in self._threads:
            thread.start()

    def request(self, probe, kwargs, deadline):
        """Send one request and wait for its response until ``deadline`` (time.monotonic()).

        Raises wire.Timeout, wire.Closed (the worker died) or wire.WireError.
        """
        wire.write_message(self._request_w, wire.encode({"probe": probe, "kwargs": kwargs}), deadline)
        return wire.read_message(self._response_r, deadline)

    def kill(self):
        """SIGKILL the whole process group, reap the process, release everything."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie we cannot reap
            pass
        for thread in self._threads:
            thread.join(timeout=1)
        for fd in (self._request_w, self._response_r):
            try:
                os.close(fd)
            except OSError:
                pass
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.scratch, ignore_errors=True)

    def exit_description(self, wait=1.0):
        """'exit code 3' or 'killed by signal SIGSEGV' once the process has ended, else 'no exit status'."""
        try:
            code = self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return "no exit status"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"
