"""The template process (a zygote): torch imported once, a fresh worker forked for each submission.

Started by ``autograder.grading.template.Template`` in a ``sandbox.Box`` of its
own, exactly as a worker is (``python -s -B -u -c BOOTSTRAP GRADER_DIR SETTINGS``,
the same mechanism, the same box), but it imports torch and the probes and then
waits on its control socket (a Unix ``SOCK_SEQPACKET`` pair: one JSON message
per packet, descriptors alongside) instead of confining itself:

    {"fork": SETTINGS} + 4 descriptors  -> {"pid": N}       a worker is forked
    {"kill": N}                         -> {"status": S}    SIGKILL, reaped
    {"wait": N, "seconds": T}           -> {"status": S}    S None if still running

The four descriptors are the worker's request pipe (read end), response pipe
(write end), stdout and stderr.  The forked worker keeps only those (the
control socket and everything else are closed before anything else happens),
then runs ``worker_main.serve``: it confines itself (limits, seccomp; Landlock
with the paths of this submission) and only then imports the submission.  It
never returns into this loop.  S is like ``Popen.returncode``: the exit code,
or minus the signal that killed it.

This process runs no student code: it is the parent of every worker of one
grading process, one at a time, and its memory is each worker's starting point
(copy on write: nothing a worker does reaches the next one).  It is not dumpable,
so a worker cannot read its memory through ``/proc``; the seccomp filter of each
worker refuses signals to any other process and ``ptrace``.  It dies with the
grading process (bubblewrap's ``--die-with-parent``, or ``PR_SET_PDEATHSIG``),
and its workers die with it.
"""
import json
import os
import signal
import socket
import sys
import time

MAX_MESSAGE = 2**16


def main(argv=None):
    settings = json.loads((argv or sys.argv[1:])[0])
    from autograder.grading import worker_main
    from autograder.sandbox import confine

    if settings.get("parent_pid"):
        confine.die_with_parent(settings["parent_pid"])
    worker_main.preload()
    try:  # what confine imports when it applies its rules: paid here once, not in every worker
        import landlock  # noqa: F401
        import pyseccomp  # noqa: F401
    except ImportError:
        pass
    confine.prctl(confine.PR_SET_DUMPABLE, 0)
    started_as = own_state()
    control = socket.socket(fileno=settings["control_fd"])
    _send(control, {"ready": True})
    running = set()  # workers forked and not yet reaped: the only processes this one ever signals
    finished = {}    # pid -> status, for workers already reaped
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 4)
        except OSError:
            return
        if not data:
            return   # the grading process closed its end: the workers die with this process
        message = json.loads(data)
        if "fork" in message:
            changed = [name for name, value in own_state().items() if started_as.get(name) != value]
            if len(fds) != 4 or changed:
                for fd in fds:
                    os.close(fd)
                _send(control, {"error": f"the template's own {', '.join(changed)} changed" if changed
                                else f"a fork needs 4 descriptors, got {len(fds)}"})
                continue
            pid = os.fork()
            if pid == 0:
                _become_worker(message["fork"], fds, control.fileno())
            for fd in fds:
                os.close(fd)
            running.add(pid)
            finished.pop(pid, None)   # a reused pid: the status on record was an earlier worker's
            _send(control, {"pid": pid})
        elif "kill" in message:
            pid = message["kill"]
            if pid in running:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
                finished[pid] = _reap(pid, None)
                running.discard(pid)
            _send(control, {"status": finished.get(pid)})
        elif "wait" in message:
            pid = message["wait"]
            if pid in running:
                status = _reap(pid, time.monotonic() + float(message.get("seconds", 0)))
                if status is not None:
                    finished[pid] = status
                    running.discard(pid)
            _send(control, {"status": finished.get(pid)})


def own_state():
    """What every worker inherits from this process besides its memory: limits and scheduling."""
    import resource

    state = {name: resource.getrlimit(getattr(resource, name))
             for name in dir(resource) if name.startswith("RLIMIT_")}
    state["priority"] = os.getpriority(os.PRIO_PROCESS, 0)
    state["scheduler"] = os.sched_getscheduler(0)
    state["affinity"] = sorted(os.sched_getaffinity(0))
    try:
        with open("/proc/self/oom_score_adj", encoding="ascii") as f:
            state["oom_score_adj"] = f.read().strip()
    except OSError:
        pass
    return state


def _send(control, message):
    control.send(json.dumps(message).encode("utf-8"))


def _reap(pid, deadline):
    """The worker's status once it has ended (waiting until ``deadline``; None: forever), else None."""
    while True:
        try:
            done, status = os.waitpid(pid, 0 if deadline is None else os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def _become_worker(settings, fds, control_fd):
    """In the forked child: keep only this worker's descriptors, then be a worker; never return."""
    try:
        request, response, out, err = fds
        os.dup2(out, 1)
        os.dup2(err, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        # Descriptors 3 and 4 for the pipes (moved out of the way first), then nothing else open.
        request, response = os.dup(request), os.dup(response)
        os.dup2(request, 3)
        os.dup2(response, 4)
        os.closerange(5, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 65536)
        settings = dict(settings, request_fd=3, response_fd=4, parent_pid=os.getppid())
        os.environ.update(settings.pop("environment", {}))
        os.chdir(settings.pop("cwd"))
        # A fresh worker's sys.argv ends with its settings: the same keys here (the values of the fds,
        # parent_pid and landlock_too are the forked worker's own).
        sys.argv[-1] = json.dumps(settings, sort_keys=True)
        from autograder.grading import worker_main
    except BaseException:  # noqa: BLE001 - a worker that cannot start ends; the grader sees its pipe close
        os._exit(70)
    os._exit(_run_as_interpreter(worker_main.selftest if settings.get("selftest") else worker_main.serve,
                                 settings))


def _run_as_interpreter(function, settings):
    """Run ``function`` and end as a fresh interpreter running it as its main program would: an
    uncaught exception's traceback on stderr and exit code 1, ``SystemExit``'s code, exit handlers."""
    import atexit
    import traceback

    code = 0
    try:
        if function.__name__ == "selftest":
            function(settings, 3, 4)
        else:
            function(settings)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    return code if 0 <= code < 256 else 1
