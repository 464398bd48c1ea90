"""An instructor-side fault is never a student's zero; the sandbox's holes are closed (checked by attacking).

- The sandbox self-test (``sandbox.verify``) runs a real worker exactly as
  grading does; when it cannot start (a broken interpreter path), ``grade``
  says so naming the path, exits 3 and stores an internal-error Result whose
  messages blame the grader, not the student.
- A ``.venv`` that is a link to a venv elsewhere grades normally under
  bubblewrap (the box shows the linked path too).
- Inside the worker, under both sandboxes: no socket of any family (a Unix
  socket listening on the host gets no connection), no ``memfd_create``, no
  System V shared memory, nothing written outside the scratch folder (bwrap's
  own tmpfs root and /dev, and /dev/shm, are read-only), no chmod or utime of
  a host file (Landlock does not cover them: seccomp does), no way to stop
  dying with the grader (prctl PR_SET_PDEATHSIG).
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from autograder import results
from support import ROOT
from support.submissions import build_submission

pytestmark = pytest.mark.slow


def _run_grade(args, tmp_path, executable=None, env=None):
    """``python -m autograder grade ...`` in a fresh process; ``executable`` replaces sys.executable there."""
    code = ("import runpy, sys\n"
            + (f"sys.executable = {executable!r}\n" if executable else "")
            + f"sys.argv = ['autograder', 'grade', *{args!r}]\n"
            "runpy.run_module('autograder', run_name='__main__')\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def _expect_internal_error(proc, stored, *needles):
    assert proc.returncode == 3, proc.stdout[-1000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr[-2000:]
    result = results.from_dict(json.loads(stored.read_text()))
    assert result.internal_errors and result.score == 0
    assert all("the grader" in t.message and "not yours" in t.message or "internal error" in t.message
               for t in result.tests), [t.message for t in result.tests]
    assert "does a module call exit()" not in stored.read_text()
    return result


def test_an_interpreter_missing_from_the_box_is_an_internal_error_not_a_zero(tmp_path):
    """The self-test starts a worker as grading would: bubblewrap cannot find the interpreter."""
    stored = tmp_path / "autograder-result.json"
    proc = _run_grade(["solutions", "--report", f"result={stored}", "--report", "gradescope=" + str(tmp_path / "r.json")],
                      tmp_path, executable="/nonexistent/venv/bin/python", env={"AUTOGRADER_SANDBOX": "bwrap"})
    result = _expect_internal_error(proc, stored, "/nonexistent/venv/bin/python", "could not start its sandbox")
    assert all(t.message.startswith("not graded: the grader failed on its side, not yours") for t in result.tests)


def test_a_worker_that_cannot_get_ready_is_an_internal_error_not_a_zero(tmp_path):
    """No student code has run before the worker says it is ready: failing before that is the grader's."""
    from support.submissions import rubric_copy

    stored = tmp_path / "autograder-result.json"
    fast = rubric_copy(tmp_path, limits={"start_timeout": 0.001})
    proc = _run_grade(["solutions", "--only", "warmup", "--rubric", str(fast), "--report", f"result={stored}",
                       "--report", "gradescope=" + str(tmp_path / "r.json")], tmp_path, env={"AUTOGRADER_SANDBOX": "landlock"})
    _expect_internal_error(proc, stored, "was not ready within", "before any of the submission's code ran")


def test_a_venv_reached_through_a_link_grades_normally_under_bubblewrap(tmp_path):
    link = tmp_path / "venv-link"
    os.symlink(os.path.realpath(ROOT / ".venv"), link)
    proc = subprocess.run([str(link / "bin" / "python"), "-m", "autograder", "grade", "solutions", "--only", "warmup",
                           "--report", "gradescope=" + str(tmp_path / "r.json")], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "AUTOGRADER_SANDBOX": "bwrap"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert json.loads((tmp_path / "r.json").read_text())["score"] == 15


def test_doctor_runs_the_self_test_of_what_grading_runs():
    proc = subprocess.run([sys.executable, "-m", "autograder", "doctor"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0
    assert proc.stdout.count("self-test passed") == 3, proc.stdout


@pytest.mark.parametrize("mechanism", ["bwrap", "landlock"])
def test_the_self_test_in_two_halves_leaves_nothing_behind(tmp_path, monkeypatch, mechanism):
    """``grade`` starts the self-test's worker, imports pytest, then waits for its answer; abandoned before
    the answer (an exception in between), its worker is killed and its folder removed all the same."""
    from autograder import sandbox

    monkeypatch.setattr(sandbox, "_verified", {})
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(__import__("tempfile"), "tempdir", None)   # mkdtemp reads TMPDIR again

    def selftest_processes():
        return [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline(pid).count(str(tmp_path))]

    with pytest.raises(KeyboardInterrupt):
        with sandbox.Verification(mechanism) as verification:
            assert any(p.name.startswith("autograder-selftest-") for p in tmp_path.iterdir())
            # Popen returns once exec has begun, before the kernel fills in the new command line: wait for it
            seen = time.monotonic() + 30
            while not selftest_processes() and time.monotonic() < seen:
                time.sleep(0.01)
            assert selftest_processes(), "its worker is started before wait()"
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == [] and selftest_processes() == []
    assert mechanism not in sandbox._verified, "an abandoned self-test proves nothing"

    with sandbox.Verification(mechanism) as verification:
        verification.wait()
    assert sandbox._verified[mechanism] == "" and list(tmp_path.iterdir()) == [] and selftest_processes() == []
    with sandbox.Verification(mechanism) as verification:   # known: no second self-test
        assert list(tmp_path.iterdir()) == []
        verification.wait()


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


ESCAPES = """
import errno, os, socket
found = []
def attempt(what, action):
    try:
        action()
    except OSError:
        return
    found.append(what)
def unix():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(HOST_SOCKET)
    s.sendall(b"escaped")
attempt("unix socket", unix)
attempt("socketpair", lambda: socket.socketpair())
attempt("memfd", lambda: os.memfd_create("x"))
def shm():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.shmget(0, 1 << 20, 0o1600) < 0:
        raise OSError(ctypes.get_errno(), "shmget")
attempt("shmget", shm)
def write(path):
    with open(path, "wb") as f:
        f.write(b"x" * 1024)
attempt("/dev/shm", lambda: write("/dev/shm/escape"))
attempt("chmod", lambda: os.chmod(HOST_FILE, 0o6777))
attempt("utime", lambda: os.utime(HOST_FILE, (0, 0)))
def undying():
    import ctypes
    if ctypes.CDLL(None, use_errno=True).prctl(1, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl")
attempt("prctl PR_SET_PDEATHSIG", undying)
attempt("root", lambda: write("/escape"))
attempt("/tmp", lambda: write("/tmp/escape"))
return "none" if not found else ",".join(found)
"""


@pytest.mark.parametrize("mechanism", ["bwrap", "landlock"])
def test_the_worker_has_no_sockets_memfd_shared_memory_or_writable_root(tmp_path, monkeypatch, mechanism):
    from autograder import rubric
    from autograder.grading.engine import grade

    path = str(tmp_path / "host.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o777)
    server.listen(5)
    server.settimeout(0.2)
    got = []

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            got.append(conn.recv(100))
            conn.close()

    stop = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    host_file = tmp_path / "host-file.py"
    host_file.write_text("# the grader's\n")
    os.chmod(host_file, 0o644)
    before = os.stat(host_file)
    body = (ESCAPES.replace("HOST_SOCKET", repr(path)).replace("HOST_FILE", repr(str(host_file)))
            .strip().replace("\n", "\n    "))
    code = "def kl_warmup(epoch, warmup_epochs, beta_max=1.0):\n    " + body + "\n"
    submission = build_submission(tmp_path / "s", module_code={"schedules": code})
    monkeypatch.setenv("AUTOGRADER_SANDBOX", mechanism)
    try:
        result = grade(str(submission), rubric.load(), only="warmup")
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert got == []
    text = "\n".join(t.message for t in result.tests)
    assert "gave str 'none'" in text, text[:3000]  # every escape failed inside the worker
    after = os.stat(host_file)
    assert (after.st_mode, after.st_mtime_ns) == (before.st_mode, before.st_mtime_ns)
    for leftover in ("/dev/shm/escape", "/escape", "/tmp/escape"):
        assert not os.path.exists(leftover)


def _grade_all(args, executable=None, installed_hypothesis=None):
    code = ("import runpy, sys\n"
            + (f"sys.executable = {executable!r}\n" if executable else "")
            + ("from autograder.semester import grade_all\n"
               f"grade_all._installed = lambda distribution: {installed_hypothesis!r}\n"
               if installed_hypothesis else "")
            + f"sys.argv = ['autograder', 'grade-all', *{[str(a) for a in args]!r}]\n"
            "sys.exit(runpy.run_module('autograder', run_name='__main__'))\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_grade_all_grades_nobody_when_its_sandbox_is_broken(tmp_path):
    build_submission(tmp_path / "class" / "alice")
    out = tmp_path / "grades"
    proc = _grade_all([tmp_path / "class", "--out", out, "--sandbox", "bwrap"],
                      executable="/nonexistent/venv/bin/python")
    assert proc.returncode == 3 and "nobody was graded" in proc.stderr and "/nonexistent/venv/bin/python" in proc.stderr
    assert not (out / "grades.csv").exists() and "Traceback" not in proc.stderr


def test_an_internal_error_is_an_empty_row_not_a_zero_and_is_graded_again(tmp_path):
    from support.submissions import rubric_copy

    build_submission(tmp_path / "class" / "alice")
    build_submission(tmp_path / "class" / "bob", stubs=True)
    broken = rubric_copy(tmp_path, limits={"start_timeout": 0.001})
    out = tmp_path / "grades"
    for attempt in range(2):  # the second run grades them again: an internal error is never reused
        proc = _grade_all([tmp_path / "class", "--out", out, "--rubric", broken])
        assert proc.returncode == 3, proc.stdout + proc.stderr
        assert "alice: internal error (" in proc.stdout and "bob: internal error (" in proc.stdout, proc.stdout
        assert "no student was graded" in proc.stdout and "mean score" not in proc.stdout, proc.stdout
        rows = (out / "grades.csv").read_text().splitlines()
        assert [row.split(",")[:3] for row in rows[1:]] == [["alice", "internal error", ""],
                                                            ["bob", "internal error", ""]]
        report = (out / "report.md").read_text()
        assert "internal error" in report and "No student has a score" in report and "Mean score" not in report
        assert "warning: this environment has" not in proc.stderr


def test_grade_all_in_an_environment_with_another_hypothesis_warns_the_instructor_once(tmp_path):
    from support.submissions import rubric_copy

    build_submission(tmp_path / "class" / "alice")
    broken = rubric_copy(tmp_path, limits={"start_timeout": 0.001})     # graded in an instant, not the point
    proc = _grade_all([tmp_path / "class", "--out", tmp_path / "grades", "--rubric", broken],
                      installed_hypothesis="6.170.17")
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: this environment has")]
    assert len(warnings) == 1 and "hypothesis 6.170.17" in warnings[0] and "pip install hypothesis==" in warnings[0]
