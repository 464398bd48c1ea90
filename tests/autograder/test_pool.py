"""The grading pool: long-lived grading processes give the same Results as grading in-process, and a
grading process that dies or hangs costs that one submission an internal error, never a zero."""
import os
import signal
import threading

import pytest

from autograder import results
from autograder.grading.pool import Pool
from support import ROOT
from support.submissions import build_submission

pytestmark = pytest.mark.slow

VOLATILE = {"seconds", "submission"}


def _plain(result):
    def strip(data):
        if isinstance(data, dict):
            return {k: strip(v) for k, v in data.items() if k not in VOLATILE}
        if isinstance(data, list):
            return [strip(v) for v in data]
        return data
    return strip(results.to_dict(result))


def _children():
    """Pids of this process's live children (the pool's grading processes among them)."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z":
                found.add(int(name))
    return found


def test_the_pool_grades_as_grading_in_process_does():
    here = Pool(0).grade(str(ROOT / "assignment"), only="warmup")
    with Pool(2) as pool:
        futures = [pool.submit(str(ROOT / folder), only="warmup") for folder in ("assignment", "solutions")]
        stubs, reference = [f.result() for f in futures]
    assert _plain(stubs) == _plain(here)
    assert reference.score == reference.max_score == 15 and stubs.score == 0
    assert not stubs.internal_errors and not reference.internal_errors


def test_a_hung_grading_process_is_an_internal_error_and_the_next_submission_is_graded(tmp_path, monkeypatch):
    before = _children()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))   # where the grading processes make their folders
    (tmp_path / "tmp").mkdir()
    # A submission whose import loops: its grading takes the import's time limit (30 s), far longer
    # than this pool's 1 s per task, so the grading process is killed.
    hanging = build_submission(tmp_path / "hang", module_code={"schedules": "while True:\n    pass\n"})
    with Pool(1, task_timeout=1.0) as pool:
        hung = pool.grade(str(hanging), only="warmup")
        assert hung.internal_errors and "took longer than 1 s" in str(hung.internal_errors[0])
        assert all(t.message.startswith("not graded: the grader failed on its side") for t in hung.tests)
        pool.task_timeout = 300
        graded = pool.grade(str(ROOT / "solutions"), only="warmup")
    assert graded.score == 15 and not graded.internal_errors
    assert _children() <= before   # every grading process (and its workers) is gone
    assert list((tmp_path / "tmp").iterdir()) == []   # and so is what the killed one left in its folder


def test_a_grading_process_holds_none_of_the_instructors_secrets(monkeypatch):
    monkeypatch.setenv("GH_TOKEN", "ghp_secret_of_the_instructor")
    with Pool(1) as pool:
        pool.warm()
        slot = pool._slots[0]
        assert slot.ensure_started() is None
        with open(f"/proc/{slot.process.pid}/environ", "rb") as f:
            environment = f.read()
        assert b"ghp_secret" not in environment and b"PATH=" in environment


def test_a_grading_process_that_dies_is_an_internal_error_not_a_zero():
    with Pool(1) as pool:
        slot = pool._slots[0]
        assert slot.ensure_started() is None   # ready: torch and the engine loaded
        killer = threading.Timer(1.0, lambda: os.kill(slot.process.pid, signal.SIGKILL))
        killer.start()
        died = pool.grade(str(ROOT / "solutions"))
        killer.join()
        assert died.internal_errors and "died (killed by signal 9)" in str(died.internal_errors[0])
        assert died.score == 0 and all(t.reason == "internal" for t in died.tests)
        assert all(t.message.startswith("not graded: the grader failed on its side") for t in died.tests)
        again = pool.grade(str(ROOT / "solutions"), only="warmup")
    assert again.score == 15


def test_a_grading_process_that_ends_leaves_no_box_behind(tmp_path, monkeypatch):
    """Its template's box and its workers' boxes are folders in its temporary directory: all gone."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))   # the grading processes' own temporary directory
    with Pool(1) as pool:
        assert pool.grade(str(ROOT / "solutions"), only="warmup").score == 15
        assert list(tmp_path.glob("autograder-pool-*/autograder-worker-*"))   # the template's box, while it lives
    assert list(tmp_path.glob("autograder-*")) == []
