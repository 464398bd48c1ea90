"""Student files are hostile data: every trusted reader goes through autograder/sandbox/safefs.py.

The attacks of issue 14, part 4, each checked from outside: a named pipe
called ``notes.py`` (opening it for reading blocks forever), a ``*.py`` link to
``/dev/zero`` (reading it never ends), 1100 nested folders (``os.walk``
recursed into a RecursionError), a 2 GB sparse file (read whole), a folder of
thousands of files.  The unit tests run safefs on its own under an alarm, so
a read that blocks fails the test instead of hanging it; the last test grades
a small class through ``python -m autograder grade-all``.
"""
import csv
import dataclasses
import hashlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from autograder.semester import grade_all, resume
from autograder import results, rubric as rubric_mod
from autograder import sandbox
from autograder.sandbox import safefs
from autograder.errors import UsageError
from autograder.submission import PACKAGE, find_package
from support import ROOT
from support.submissions import build_submission

GB = 2**30


@pytest.fixture(autouse=True)
def never_blocks():
    """Fail (do not hang) when anything blocks for 20 s: a pipe opened for reading, /dev/zero read to the end."""
    def expired(*_):
        raise TimeoutError("a read of a student's folder blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def nest(folder, depth, name="a"):
    """``depth`` folders nested in ``folder`` (made without recursion: os.makedirs recurses); the deepest."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)


def unnest(folder, name="a"):
    """Remove what ``nest`` made, deepest first (shutil.rmtree recurses too, and pytest cleans up with it)."""
    chain = [os.open(folder, os.O_RDONLY | os.O_DIRECTORY)]
    try:
        while True:
            try:
                chain.append(os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=chain[-1]))
            except FileNotFoundError:
                break
        for parent in reversed(chain[:-1]):
            os.rmdir(name, dir_fd=parent)
    finally:
        for fd in chain:
            os.close(fd)


@pytest.fixture
def hostile(tmp_path):
    """A package folder holding one of every hostile kind of entry (but no more than the default limits)."""
    pkg = tmp_path / "lab6_generative"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "vae.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    os.mkfifo(pkg / "notes.py")
    os.symlink("/dev/zero", pkg / "zero.py")
    os.symlink("/etc", pkg / "etc")
    os.symlink("loop", pkg / "loop")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("SECRET = 1\n")
    os.symlink(outside, pkg / "elsewhere")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(pkg / "listening.py"))
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "vae.cpython-311.pyc").write_bytes(b"\0" * 10)
    yield pkg
    sock.close()


# ---------------------------------------------------------------- the walker

def test_the_walk_never_follows_a_link_and_names_every_kind(hostile):
    kinds = {e.rel: e.kind for e in safefs.walk(str(hostile))}
    assert kinds == {"vae.py": "file", "sub": "dir", "sub/b.py": "file", "notes.py": "fifo", "zero.py": "link",
                     "etc": "link", "loop": "link", "elsewhere": "link", "listening.py": "socket"}
    assert not any("secret" in rel or rel.startswith("etc/") for rel in kinds), "a link was followed"
    specials = [e.rel for e in safefs.walk(str(hostile)) if e.special]
    assert specials == ["listening.py", "notes.py"]


def test_the_walk_comes_in_a_fixed_order_with_folders_first(tmp_path):
    for rel in ("b/z.py", "b/a.py", "a.py", "c/d/e.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    order = [e.rel for e in safefs.walk(str(tmp_path))]
    assert order == ["a.py", "b", "c", "b/a.py", "b/z.py", "c/d", "c/d/e.py"]
    assert [e.depth for e in safefs.walk(str(tmp_path)) if e.rel == "c/d/e.py"] == [3]


def test_a_link_is_not_a_folder_to_walk(tmp_path):
    os.symlink("/etc", tmp_path / "pkg")
    with pytest.raises(NotADirectoryError):
        list(safefs.walk(str(tmp_path / "pkg")))


@pytest.mark.slow
def test_1100_nested_folders_are_refused_in_one_sentence_without_recursion(tmp_path):
    pkg = tmp_path / "lab6_generative"
    pkg.mkdir()
    nest(pkg, 1100)
    try:
        started = time.monotonic()
        with pytest.raises(safefs.TooLarge) as err:
            list(safefs.walk(str(pkg)))
        assert str(err.value).startswith("your submission nests folders more than 12 deep (at lab6_generative/a/")
        assert str(err.value).endswith("the limit is limits.submission_depth in grading.yml)")
        assert err.value.limit == "depth" and isinstance(err.value, UsageError)
        # With room enough, the same walk goes to the bottom: it is iterative, never a RecursionError.
        deep = list(safefs.walk(str(pkg), safefs.Bounds(GB, 5000, 5000)))
        assert len(deep) == 1100 and deep[-1].depth == 1100
        assert time.monotonic() - started < 10
    finally:
        unnest(pkg)


def test_too_many_entries_are_refused_after_reading_no_more_than_the_limit(tmp_path):
    pkg = tmp_path / "lab6_generative"
    pkg.mkdir()
    for i in range(2001):
        (pkg / f"f{i}.py").touch()
    with pytest.raises(safefs.TooLarge) as err:
        list(safefs.walk(str(pkg)))
    assert str(err.value) == ("your submission holds more than 2000 files and folders "
                              "(the limit is limits.submission_files in grading.yml)")
    (pkg / "f0.py").unlink()
    assert len(list(safefs.walk(str(pkg)))) == 2000, "exactly the limit is fine"
    nested = tmp_path / "nested"
    for i in range(30):
        (nested / f"d{i}").mkdir(parents=True)
        for j in range(3):
            (nested / f"d{i}" / f"{j}.py").touch()
    with pytest.raises(safefs.TooLarge):
        list(safefs.walk(str(nested), safefs.Bounds(GB, 100, 12)))   # counted across folders too


def test_a_2_gb_sparse_file_is_refused_by_its_size_without_reading_it(tmp_path):
    pkg = tmp_path / "lab6_generative"
    pkg.mkdir()
    (pkg / "vae.py").write_text("x = 1\n")
    os.truncate(os.open(pkg / "weights.bin", os.O_CREAT | os.O_WRONLY, 0o644), 2 * GB)
    started = time.monotonic()
    with pytest.raises(safefs.TooLarge) as err:
        list(safefs.walk(str(pkg)))
    assert str(err.value) == ("your submission's files add up to more than 64 MB (lab6_generative/weights.bin "
                              "alone is 2048 MB; the limit is limits.submission_mb in grading.yml)")
    with pytest.raises(safefs.TooLarge):
        safefs.hash_file(str(pkg / "weights.bin"), max_bytes=64 * 2**20)
    with pytest.raises(safefs.TooLarge):
        safefs.copy_tree(str(pkg), str(tmp_path / "copy"))
    assert not (tmp_path / "copy").exists(), "nothing half-copied is left"
    assert time.monotonic() - started < 5
    many = tmp_path / "many"
    many.mkdir()
    for i in range(3):
        (many / f"{i}.bin").write_bytes(b"x" * 400)
    with pytest.raises(safefs.TooLarge, match=r"more than 1000 bytes \(reached at many/2.bin;"):
        list(safefs.walk(str(many), safefs.Bounds(1000, 100, 12)))


def test_limits_come_from_the_rubric(tmp_path):
    limits = dataclasses.replace(rubric_mod.Limits(), submission_files=3, submission_mb=1, submission_depth=2)
    bounds = safefs.Bounds.of(limits)
    assert (bounds.max_entries, bounds.max_bytes, bounds.max_depth) == (3, 2**20, 2)
    assert safefs.Bounds.of(None) == safefs.Bounds.of(rubric_mod.Limits()) == safefs.Bounds(64 * 2**20, 2000, 12)
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert len(list(safefs.walk(str(tmp_path), limits))) == 2
    (tmp_path / "a" / "b" / "c").mkdir()
    with pytest.raises(safefs.TooLarge, match="more than 2 deep"):
        list(safefs.walk(str(tmp_path), limits))


def test_student_names_in_messages_cannot_break_a_report(tmp_path):
    bad = os.fsencode(tmp_path) + b"/\xff\x1b[31m" + b"x" * 200 + b".bin"
    with open(bad, "wb") as f:
        f.truncate(100)
    with pytest.raises(safefs.TooLarge) as err:
        list(safefs.walk(str(tmp_path), safefs.Bounds(10, 100, 12)))
    message = str(err.value)
    message.encode("utf-8")                       # no lone surrogate
    assert "\x1b" not in message and len(message) < 300


# ---------------------------------------------------------------- reading and hashing files

def test_a_pipe_a_device_a_socket_and_links_are_never_read(hostile):
    for name in ("notes.py", "zero.py", "etc", "loop", "listening.py", "sub"):
        with pytest.raises(safefs.NotRegular):
            safefs.hash_file(str(hostile / name))
    with pytest.raises(safefs.NotRegular, match="a device"):
        safefs.hash_file("/dev/zero")
    with pytest.raises(safefs.NotRegular):
        safefs.open_regular(str(hostile / "elsewhere"))
    assert issubclass(safefs.NotRegular, OSError)


def test_hash_file_streams_exactly_the_file(tmp_path):
    data = os.urandom(3 * 2**20 + 17)
    (tmp_path / "f.bin").write_bytes(data)
    digest, read = safefs.hash_file(str(tmp_path / "f.bin"))
    assert digest == hashlib.sha256(data).hexdigest() and read == len(data)
    with pytest.raises(safefs.TooLarge):
        safefs.hash_file(str(tmp_path / "f.bin"), max_bytes=2**20)
    assert safefs.read_text(str(tmp_path / "f.bin"), 4 * 2**20) is not None
    with pytest.raises(safefs.TooLarge):
        safefs.read_text(str(tmp_path / "f.bin"), 100)


def test_the_fingerprint_follows_content_and_link_targets_but_never_opens_specials(hostile):
    first, report = safefs.fingerprint(str(hostile))
    assert report.skipped == [("listening.py", "socket"), ("notes.py", "fifo")]
    assert (report.files, report.links, report.dirs) == (2, 4, 1)
    assert report.note(PACKAGE) == ("Not read: lab6_generative/listening.py (a socket), lab6_generative/notes.py "
                                    "(a named pipe); only regular files, folders and links are graded (links as "
                                    "links, never followed).")
    assert safefs.fingerprint(str(hostile))[0] == first
    (hostile / "__pycache__" / "other.pyc").write_bytes(b"1")
    assert safefs.fingerprint(str(hostile))[0] == first, "caches are not what is graded"
    os.remove(hostile / "etc")
    os.symlink("/usr", hostile / "etc")
    second = safefs.fingerprint(str(hostile))[0]
    assert second != first
    (hostile / "sub" / "b.py").write_text("y = 3\n")
    assert safefs.fingerprint(str(hostile))[0] != second


# ---------------------------------------------------------------- the box copy

def test_copy_tree_copies_files_links_as_links_and_skips_the_rest(hostile, tmp_path):
    (hostile / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(hostile / "run.sh", 0o4755)          # setuid is never copied
    dst = tmp_path / "box" / "submission" / PACKAGE
    report = safefs.copy_tree(str(hostile), str(dst), rubric_mod.Limits())
    assert sorted(os.listdir(dst)) == ["elsewhere", "etc", "loop", "run.sh", "sub", "vae.py", "zero.py"]
    assert (dst / "vae.py").read_text() == "x = 1\n" and (dst / "sub" / "b.py").read_text() == "y = 2\n"
    for name, target in (("zero.py", "/dev/zero"), ("etc", "/etc"), ("loop", "loop")):
        assert os.path.islink(dst / name) and os.readlink(dst / name) == target
    assert os.readlink(dst / "elsewhere") == str(tmp_path / "outside")
    assert stat.S_IMODE(os.stat(dst / "run.sh").st_mode) == 0o755
    assert report.skipped == [("listening.py", "socket"), ("notes.py", "fifo")]
    assert (report.files, report.links, report.dirs, report.bytes) == (3, 4, 1, 22)
    assert "lab6_generative/notes.py (a named pipe)" in report.note(PACKAGE)
    with pytest.raises(FileExistsError):
        safefs.copy_tree(str(hostile), str(dst))


def test_copy_tree_refuses_over_the_limits_and_leaves_nothing(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.py").write_bytes(b"z" * 300)
    small = safefs.Bounds(1000, 100, 12)
    with pytest.raises(safefs.TooLarge):
        safefs.copy_tree(str(src), str(tmp_path / "dst"), small)
    assert not (tmp_path / "dst").exists()
    with pytest.raises(safefs.TooLarge, match="holds more than 3 files"):
        safefs.copy_tree(str(src), str(tmp_path / "dst"), safefs.Bounds(10**6, 3, 12))
    assert not (tmp_path / "dst").exists()
    report = safefs.copy_tree(str(src), str(tmp_path / "dst"), safefs.Bounds(1500, 5, 12))
    assert report.files == 5 and report.bytes == 1500


# ---------------------------------------------------------------- finding the package

def test_find_package_is_bounded_and_never_enters_links(tmp_path):
    (tmp_path / "repo" / "inner" / PACKAGE).mkdir(parents=True)
    os.symlink(ROOT / "solutions", tmp_path / "aaa-link")
    assert find_package(str(tmp_path), max_depth=2) == str(tmp_path / "repo" / "inner")
    linked = tmp_path / "linked"
    linked.mkdir()
    os.symlink(ROOT / "solutions" / PACKAGE, linked / PACKAGE)
    assert find_package(str(linked)) is None, "a link named lab6_generative is not the package"
    crowd = tmp_path / "crowd"
    crowd.mkdir()
    for i in range(2100):
        (crowd / f"d{i:04}").mkdir()
    with pytest.raises(safefs.TooLarge, match="more than 2000 files and folders where lab6_generative/"):
        find_package(str(crowd), max_depth=1)
    assert find_package(str(crowd), max_depth=0) is None, "nothing is listed to look at the top only"
    (crowd / PACKAGE).mkdir()
    assert find_package(str(crowd), max_depth=1) == str(crowd), "found at the top: nothing else is listed"


# ---------------------------------------------------------------- grade-all's own reading, in this process

def _run(tmp_path, rubric=None):
    return grade_all.ClassRun(submissions=str(tmp_path / "subs"), out=str(tmp_path / "out"), jobs=1,
                              rubric=rubric or rubric_mod.load())


def _stored(tmp_path, name):
    return results.from_dict(json.loads((tmp_path / "out" / "students" / name / "autograder-result.json")
                                        .read_text()))


@pytest.mark.slow
def test_grade_all_refuses_a_submission_over_a_limit_with_a_zero_that_says_why(tmp_path):
    run = _run(tmp_path)
    subs = tmp_path / "subs"
    (subs / "deep" / PACKAGE).mkdir(parents=True)
    (subs / "wide" / "repo" / PACKAGE).mkdir(parents=True)
    (subs / "sparse" / PACKAGE).mkdir(parents=True)
    nest(subs / "deep" / PACKAGE, 1100)
    for i in range(2001):
        (subs / "wide" / "repo" / PACKAGE / f"{i}.py").touch()
    os.truncate(os.open(subs / "sparse" / PACKAGE / "data.bin", os.O_CREAT | os.O_WRONLY, 0o644), 2 * GB)
    (subs / "piped").mkdir()
    os.mkfifo(subs / "piped" / "notes.py")      # no package, a pipe at the top: never opened
    try:
        reasons = {"deep": "nests folders more than 12 deep", "wide": "holds more than 2000 files and folders",
                   "sparse": "lab6_generative/data.bin alone is 2048 MB"}
        for name, reason in reasons.items():
            student_dir = tmp_path / "out" / "students" / name
            student_dir.mkdir(parents=True)
            (student_dir / resume.STAMP).write_text("an earlier grade's stamp\n")
            student = grade_all.scan_student(name, str(subs / name), run, "grader")
            status, why = student.status, student.why
            assert status == "refused" and student.root is None and reason in why
            result = _stored(tmp_path, name)
            assert result.score == 0 and result.notes == [f"{name}: not graded: {why}."]
            assert all(reason in t.message for t in result.tests)
            assert not (student_dir / resume.STAMP).exists(), "the next run must not call the zero unchanged"
        assert grade_all.scan_student("piped", str(subs / "piped"), run, "g").status == "no package"
    finally:
        unnest(subs / "deep" / PACKAGE)


def test_grade_all_uses_the_rubrics_limits(tmp_path):
    limits = dataclasses.replace(rubric_mod.Limits(), submission_files=5)
    run = _run(tmp_path, dataclasses.replace(rubric_mod.load(), limits=limits))
    pkg = tmp_path / "subs" / "amy" / PACKAGE
    pkg.mkdir(parents=True)
    for i in range(6):
        (pkg / f"{i}.py").touch()
    student = grade_all.scan_student("amy", str(tmp_path / "subs" / "amy"), run, "g")
    status, why = student.status, student.why
    assert status == "refused" and why == ("your submission holds more than 5 files and folders (the limit is "
                                           "limits.submission_files in grading.yml)")


def test_resume_fingerprints_the_package_as_the_box_copies_it(hostile, tmp_path):
    root = str(hostile.parent)
    digest, report = resume.submission_fingerprint(root)
    assert digest == safefs.fingerprint(str(hostile))[0] and report.skipped
    (hostile.parent / "README.md").write_text("outside the package: not graded, not fingerprinted")
    assert resume.submission_fingerprint(root)[0] == digest
    assert resume.stamp(digest, "g") == f"{digest} g"
    grader = resume.grader_fingerprint(str(ROOT / "grading.yml"), str(ROOT / "autograder" / "reporters"))
    assert len(grader) == 64


def test_resume_never_reuses_a_result_with_an_internal_error(tmp_path):
    from autograder import reporters

    result = results.nothing_to_grade(rubric_mod.load(), "s", "why")
    stored = tmp_path / "autograder-result.json"
    reporters.write(result, "result", str(stored))
    (tmp_path / resume.STAMP).write_text("abc g\n")
    assert resume.is_current(str(tmp_path), "abc g", str(stored))
    assert not resume.is_current(str(tmp_path), "abd g", str(stored))
    reporters.write(dataclasses.replace(result, internal_errors=[
        results.InternalError(None, "the worker could not be started")]), "result",
                    str(stored))
    assert not resume.is_current(str(tmp_path), "abc g", str(stored)), "the grader's fault is graded again"
    os.remove(tmp_path / resume.STAMP)
    os.mkfifo(tmp_path / resume.STAMP)
    assert not resume.is_current(str(tmp_path), "abc g", str(stored))


# ---------------------------------------------------------------- a hostile class, from outside

# This process's own peak is VmHWM (per address space, new at exec): ru_maxrss would carry over the
# resident size of the pytest process that started it (Linux keeps it across fork and exec).
# At exit (an exit handler: python -m autograder ends with os._exit once its handlers ran, quick_exit.py).
PEAK = """
import atexit, resource, runpy, sys
def peak():
    own = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print("PEAK_KB", own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
atexit.register(peak)
sys.argv = ["autograder", *sys.argv[1:]]
runpy.run_module("autograder", run_name="__main__", alter_sys=True)
"""


@pytest.fixture
def hostile_class(tmp_path):
    """alice: the reference; mallory: the reference plus a pipe named notes.py and a link to /dev/zero
    (in the package and at the top) and a 2 GB sparse big.py at the top (outside the package: neither
    read nor counted); deep: 1100 nested folders; sparse: a 2 GB sparse file in the package."""
    subs = tmp_path / "submissions"
    for name in ("alice", "mallory", "deep", "sparse"):
        build_submission(subs / name)
    for where in (subs / "mallory", subs / "mallory" / PACKAGE):
        os.mkfifo(where / "notes.py")
        os.symlink("/dev/zero", where / "zero.py")
    os.truncate(os.open(subs / "mallory" / "big.py", os.O_CREAT | os.O_WRONLY, 0o644), 2 * GB)
    nest(subs / "deep" / PACKAGE, 1100)
    os.truncate(os.open(subs / "sparse" / PACKAGE / "checkpoint.py", os.O_CREAT | os.O_WRONLY, 0o644), 2 * GB)
    yield subs
    unnest(subs / "deep" / PACKAGE)
    os.remove(subs / "sparse" / PACKAGE / "checkpoint.py")
    os.remove(subs / "mallory" / "big.py")


@pytest.mark.slow
def test_a_hostile_class_is_graded_in_bounded_time_and_memory(hostile_class, tmp_path):
    signal.alarm(0)     # this one has its own time limit
    out = tmp_path / "out"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", PEAK, "grade-all", str(hostile_class), "--out", str(out),
                           "--jobs", "2"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert seconds < 240, f"grade-all took {seconds:.0f} s"
    with open(out / "grades.csv", newline="") as f:
        grades = {row["student"]: row for row in csv.DictReader(f)}
    assert {name: row["score"] for name, row in grades.items()} == {
        "alice": "100", "mallory": "100", "deep": "0", "sparse": "0"}
    assert "deep: refused" in proc.stdout and "nests folders more than 12 deep" in proc.stdout
    assert "sparse: refused" in proc.stdout and "checkpoint.py alone is 2048 MB" in proc.stdout
    for name, reason in (("deep", "limits.submission_depth"), ("sparse", "limits.submission_mb")):
        shown = json.loads((out / "students" / name / "results.json").read_text())
        assert shown["score"] == 0 and reason in json.dumps(shown)
    mallory = _stored(tmp_path, "mallory")
    assert any("lab6_generative/notes.py (a named pipe)" in note for note in mallory.notes)
    own_kb, children_kb = map(int, proc.stderr.rsplit("PEAK_KB", 1)[1].split()[:2])
    assert own_kb < 256 * 1024, f"grade-all itself peaked at {own_kb // 1024} MB"    # about 80 MB
    assert children_kb < 1536 * 1024, f"a grading process peaked at {children_kb // 1024} MB"  # about 750 MB
    # Again: everyone resumes or is refused again, without reading anything unbounded.
    again = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(hostile_class), "--out", str(out)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "alice: unchanged" in again.stdout and "mallory: unchanged" in again.stdout
    assert "deep: refused" in again.stdout


@pytest.mark.slow
def test_remove_tree_takes_down_what_a_worker_could_build(tmp_path):
    """1100 nested read-only folders, a link out, a pipe: removed without recursion, the link's target kept."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    nest(scratch, 1100)
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious.txt").write_text("mine")
    os.symlink(keep, scratch / "out")
    os.mkfifo(scratch / "pipe")
    deepest = scratch
    for depth in range(3):                      # a few read-only folders on the way down
        deepest = deepest / "a"
        os.chmod(deepest, 0o500)
    safefs.remove_tree(str(scratch))
    assert not scratch.exists()
    assert (keep / "precious.txt").read_text() == "mine"
    os.symlink(keep, tmp_path / "link")
    safefs.remove_tree(str(tmp_path / "link"))
    assert not os.path.lexists(tmp_path / "link") and keep.exists()
    safefs.remove_tree(str(tmp_path / "missing"))


def test_folders_nested_past_the_longest_path_are_counted_and_removed():
    """40 nested folders of 250-character names in a box's scratch folder (a path of 10,000 characters,
    past what the system can name): their files are counted, their depth is seen, and the box goes."""
    box = sandbox.Box("none", None)
    folder = os.open(box.host_scratch, os.O_RDONLY)
    for _ in range(40):
        with open(os.open("data", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=folder), "wb") as f:
            f.write(b"x" * 60_000)
        os.mkdir("d" * 250, dir_fd=folder)
        inner = os.open("d" * 250, os.O_RDONLY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.mkdir("locked", 0, dir_fd=folder)
    os.close(folder)
    used, entries, too_deep = box.scratch_usage(10_000)
    assert entries == 81 and used >= 40 * 60_000 and not too_deep
    assert box.scratch_usage(10_000, max_depth=30)[2]
    box.remove()
    assert not os.path.exists(box.root)


def test_opening_up_a_folder_to_remove_it_never_changes_what_a_link_points_to(tmp_path):
    """A worker that outlived its kill swaps a folder for a link to a host file: its mode stays."""
    precious = tmp_path / "precious"
    precious.write_text("mine")
    os.chmod(precious, 0o400)
    box = tmp_path / "box"
    box.mkdir()
    os.symlink(precious, box / "was-a-folder")
    folder = os.open(box, os.O_RDONLY)
    try:
        safefs._open_up("was-a-folder", folder)
    finally:
        os.close(folder)
    assert stat.S_IMODE(os.stat(precious).st_mode) == 0o400
    (box / "sub").mkdir(mode=0)
    safefs._open_up(str(box / "sub"), None)
    assert stat.S_IMODE(os.stat(box / "sub").st_mode) == 0o700
