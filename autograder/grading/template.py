"""A template process (a zygote), seen from the grader: torch imported once, a worker forked per submission.

    template = Template("bwrap", rubric.limits)     # starts importing torch now
    worker = Worker("collected/ana", limits, capture, "bwrap", template=template)
    ...
    template.close()

A grading process of the pool (``grading.pool``) grades one submission after
another.  Starting each worker from nothing costs a Python and an import of
torch (about as long as the checks themselves); forking it from a template
that has already imported torch and the probes costs a few milliseconds.

The template runs in a ``sandbox.Box`` of its own, started exactly as a
worker is (the same mechanism, the same bubblewrap namespaces or none, the
same environment, the same limits), and runs no student code
(``template_main``).  For each submission, ``fork``:

1. empties the box (the last worker's package and scratch files: the
   template's box keeps its folders mounted, so only their contents change)
   and copies this submission's package in (``Box.load``);
2. asks the template to fork; the child keeps only its own pipes, confines
   itself exactly as a worker started from nothing does (``worker_main.serve``)
   and says it is ready before it imports the submission.

So each worker still sees only its own submission and scratch folder, with
the seccomp filter that refuses new processes, signals to anyone else,
``ptrace`` and changing another process's limits or scheduling; under
bubblewrap it shares the template's namespaces, which hold nothing but the
template, this worker and the files above, and it also confines itself with
Landlock (``unusable``: no template without it), which closes the template's
``/proc`` files to it.  Before each fork the template checks that its own
limits and scheduling are those it started with, or refuses to fork.  Workers of one
template run one at a time, and each is killed and reaped (``kill``) before
the box is emptied for the next.

When the template cannot be used (it died, did not start in time, or its box
could not be emptied), ``TemplateFailure`` is raised and the caller starts a
worker the usual way; the next ``fork`` starts a fresh template.
"""
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

from autograder import sandbox

BOOTSTRAP = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "sys.path.insert(0, sys.argv[1]); "
    "from autograder.grading.template_main import main; main(sys.argv[2:])"
)
ANSWER_TIMEOUT = 30.0   # seconds for the template to answer a fork, kill or wait (beyond the wait asked for)


class TemplateFailure(RuntimeError):
    """The template cannot fork a worker now: start one the usual way."""


def unusable(mechanism):
    """Why no template can be used with ``mechanism`` on this machine, or None.

    Under bubblewrap, a template's workers share its namespaces, so they also
    confine themselves with Landlock, which keeps them away from the
    template's ``/proc`` files (its limits and scheduling are refused by the
    seccomp filter); without Landlock, workers start from nothing.
    """
    from autograder.sandbox import confine

    if mechanism == "bwrap" and confine.landlock_abi() < 1:
        return "under bubblewrap, a template's workers need Landlock, which this kernel lacks"
    if mechanism == "none":   # no seccomp: a worker's own processes would outlive it, in the template's group
        return "without a sandbox, workers start from nothing (each in a process group of its own)"
    return None


class Template:
    """A preloaded worker process in a box of its own; ``fork`` gives a worker for one submission."""

    def __init__(self, mechanism, limits):
        self.mechanism, self.limits = mechanism, limits
        self._lock = threading.RLock()
        self.box = self.proc = self._control = self._log = None
        self._ready = False
        self.started = 0           # template processes started (a fresh one after a failure)
        self.forks = 0
        self.start()

    def start(self):
        """Start the template process now, without waiting for it (it imports torch)."""
        from autograder.grading.worker import _environment, become_subreaper

        with self._lock:
            if self.proc is not None:
                return
            why = unusable(self.mechanism)
            if why:
                raise TemplateFailure(why)
            box = sandbox.Box(self.mechanism, None, self.limits)
            ours = theirs = log = None
            try:
                account = sandbox.worker_account()
                as_user = {}
                if account:
                    os.chown(box.host_scratch, *account)
                    as_user = {"user": account[0], "group": account[1], "extra_groups": []}
                become_subreaper()
                ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                settings = {"control_fd": theirs.fileno(), "mechanism": self.mechanism,
                            "parent_pid": os.getpid() if self.mechanism != "bwrap" else None}
                env = _environment(box.scratch, "template")
                argv = box.command(["-s", "-B", "-u", "-c", BOOTSTRAP, box.grader,
                                    json.dumps(settings, sort_keys=True)], env)
                log = tempfile.TemporaryFile()
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             pass_fds=(theirs.fileno(),), cwd=box.host_scratch, env=env,
                                             start_new_session=True, **as_user)
            except BaseException:
                for thing in (ours, log):
                    if thing is not None:
                        thing.close()
                box.remove()
                raise
            finally:
                if theirs is not None:
                    theirs.close()
            self.box, self._control, self._log, self._ready = box, ours, log, False
            self.started += 1

    def fork(self, submission, settings, fds):
        """A worker for ``submission``: returns a ``Forked`` process; raises TemplateFailure.

        ``settings`` are the worker's (``Box.settings`` plus the worker's
        environment variables under ``environment``); ``fds`` its request pipe
        (read end), response pipe (write end), stdout and stderr.
        """
        with self._lock:
            try:
                if self.proc is None:
                    self.start()
                if not self._ready:
                    ready = self._receive(time.monotonic() + self.limits.start_timeout)
                    if ready != {"ready": True}:
                        raise TemplateFailure(f"the template's first message was {str(ready)[:200]}")
                    if self._log.seek(0, os.SEEK_END):   # a fresh worker would have shown it in the output
                        raise TemplateFailure("the template printed something while it imported torch"
                                              + self._last_output())
                    self._ready = True
                self.box.load(submission, self.limits)
                message = {"fork": dict(settings, cwd=self.box.scratch)}
                socket.send_fds(self._control, [json.dumps(message).encode("utf-8")], list(fds))
                answer = self._receive(time.monotonic() + ANSWER_TIMEOUT)
                if not isinstance(answer.get("pid"), int):
                    raise TemplateFailure(f"the template could not fork: {str(answer)[:200]}")
            except sandbox.SandboxBroken as err:
                self._retire()
                raise TemplateFailure(str(err)) from None
            except (OSError, ValueError, TemplateFailure) as err:
                self._retire()
                raise TemplateFailure(f"the template process failed: {err}") from None
            self.forks += 1
            return Forked(self, answer["pid"])

    def ask(self, message, seconds=0.0):
        """Send ``message`` and return the template's answer; None when it is gone (it was retired)."""
        with self._lock:
            if self._control is None:
                return None
            try:
                self._control.send(json.dumps(message).encode("utf-8"))
                return self._receive(time.monotonic() + seconds + ANSWER_TIMEOUT)
            except (OSError, ValueError, TemplateFailure):
                self._retire()
                return None

    def _receive(self, deadline):
        self._control.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            data = self._control.recv(2**16)
        except socket.timeout:
            raise TemplateFailure("the template did not answer in time") from None
        if not data:
            raise TemplateFailure("the template process ended" + self._last_output())
        answer = json.loads(data)
        if not isinstance(answer, dict):
            raise TemplateFailure(f"the template answered {str(answer)[:200]}")
        return answer

    def _last_output(self):
        try:
            self._log.seek(max(0, self._log.seek(0, os.SEEK_END) - 300))
            text = self._log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError, AttributeError):
            return ""
        return f": {text}" if text else ""

    def _retire(self):
        """Kill the template process and its workers (its process group) and delete its box."""
        with self._lock:
            if self.proc is not None:
                from autograder.grading.worker import kill_group

                kill_group(self.proc, "template")
            for thing in (self._control, self._log):
                if thing is not None:
                    thing.close()
            if self.box is not None:
                self.box.remove()
            self.proc = self._control = self._log = self.box = None
            self._ready = False

    def close(self):
        """End the template and every worker it forked."""
        self._retire()


class Forked:
    """A worker forked by a template: what ``Worker`` needs of a process (``pid``, ``wait``, ``kill``)."""

    def __init__(self, template, pid):
        self.template, self.pid, self.returncode = template, pid, None

    def wait(self, timeout=None):
        """The worker's exit status (like ``Popen.returncode``); TimeoutExpired if it is still running."""
        if self.returncode is None:
            answer = self.template.ask({"wait": self.pid, "seconds": timeout or 0.0}, timeout or 0.0)
            if answer is None:   # the template is gone, and its workers with it
                self.returncode = -9
            elif answer.get("status") is not None:
                self.returncode = int(answer["status"])
            else:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
        return self.returncode

    def kill(self):
        """SIGKILL the worker and reap it (the template does both before it answers)."""
        if self.returncode is None:
            answer = self.template.ask({"kill": self.pid})
            status = answer.get("status") if answer else None
            self.returncode = int(status) if status is not None else -9
