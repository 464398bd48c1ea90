"""Submissions that fight the grader are contained: a complete, valid report, a bounded time.

Timeouts are shortened through a copy of grading.yml so that the slow cases
stay a few seconds long.
"""
import json
import os
import time

import pytest

from autograder import rubric
from autograder.grading.engine import grade
from autograder.grading.worker import Worker
from autograder.reporters import gradescope
from support.submissions import build_submission, failures, load, rubric_copy

pytestmark = pytest.mark.slow

HOSTILE = load("hostile")


# The template _grade forks workers from, set for each test by ``isolation``.
_FORK_FROM = {}


@pytest.fixture(autouse=True, params=["bwrap", "landlock"])
def isolation(request, monkeypatch, template_for):
    """Every hostile submission is contained under both sandboxes, and on both ways a worker starts.

    Under bubblewrap each worker starts from nothing, as ``grade``'s first worker does; under
    Landlock it is forked from a template, as in ``grade-all`` (the template's own attack tests are in
    test_template_process.py).  Where no template can be used, both start from nothing.
    """
    monkeypatch.setenv("AUTOGRADER_SANDBOX", request.param)
    monkeypatch.setitem(_FORK_FROM, "template", template_for(request.param) if request.param == "landlock" else None)
    return request.param


def _grade(tmp_path, name, only=None, **limits):
    """Grade hostile submission ``name``; returns the Result and the seconds the submission held the grader.

    Those seconds start when the first worker said it was ready, before any of the submission's code ran:
    the worker's own start (a new interpreter importing torch, under bubblewrap) is the grader's time, and
    on a loaded machine it alone can take several seconds.
    """
    spec = HOSTILE[name]
    submission = build_submission(tmp_path / "submission", spec.get("bodies"), spec.get("module_code"))
    fast = rubric.load(rubric_copy(tmp_path, limits={"import_timeout": limits.get("import_timeout", 20)},
                                   timeouts={"warmup": limits.get("timeout", 20)}))
    ready_at = []
    real_ready = Worker.ready

    def ready(worker, deadline):
        answer = real_ready(worker, deadline)
        ready_at.append(time.monotonic())
        return answer

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Worker, "ready", ready)
        result = grade(str(submission), fast, only=only, template=_FORK_FROM["template"])
    ended = time.monotonic()
    data = gradescope.to_dict(result)
    assert len(json.dumps(data)) < 1_000_000 and data["tests"] and not result.internal_errors
    assert ready_at, "a worker got ready"
    return result, ended - ready_at[0]


def test_exit_at_import_fails_the_checks_that_need_that_module(tmp_path):
    result, _ = _grade(tmp_path, "exit_at_import")
    assert result.max_score == 100
    for check in result.checks:
        if check.id == "warmup":  # schedules.py still imports: its check is unaffected
            assert check.score == check.points
        else:
            assert check.score == 0 and "lab6_generative.vae could not be imported: systemexit: 3" in \
                check.first_failure.lower()
            assert check.tests[0].reason == "import_failed"


def test_hard_exit_at_import_fails_everything_once(tmp_path):
    result, seconds = _grade(tmp_path, "hard_exit_at_import")
    assert result.score == 0 and seconds < 10
    assert all("stopped (exit code 7) while importing" in t.message for t in result.tests)
    assert {t.reason for t in result.tests} == {"import_failed"}


def test_a_loop_at_import_hits_the_import_time_limit_once(tmp_path):
    result, seconds = _grade(tmp_path, "loop_at_import", import_timeout=4)
    # One import attempt, not one per check (7 checks: at least 28 s)
    assert result.score == 0 and seconds < 12
    assert all("took longer than 4 s" in t.message for t in result.tests)
    assert {t.reason for t in result.tests} == {"import_failed"}


def test_an_infinite_loop_ignoring_sigterm_is_killed(tmp_path):
    result, seconds = _grade(tmp_path, "loop_ignoring_sigterm", only="warmup", timeout=2)
    assert result.score == 0 and seconds < 7   # the 2 s limit, then SIGKILL: no wait for a SIGTERM it ignores
    assert "timed out" in result.checks[0].first_failure and "time limit of 2 s" in failures(result)
    reasons = [t.reason for t in result.tests]   # the time-out, then every later test of the check not run
    assert reasons[0] == "timeout" and set(reasons[1:]) == {"not_run"} and len(reasons) > 1


def test_exit_during_a_call_fails_that_check_only(tmp_path):
    result, _ = _grade(tmp_path, "exit_during_call")
    scores = {c.id: c.score for c in result.checks}
    assert scores["warmup"] == 0 and "stopped (exit code 0)" in result.checks[4].first_failure
    reasons = [t.reason for t in result.checks[4].tests if t.status != "passed"]
    assert reasons[0] == "crashed" and set(reasons[1:]) <= {"not_run"}
    assert sum(scores.values()) == 85  # a fresh worker grades the other checks


@pytest.mark.parametrize("name", ["monkeypatched_torch", "rigged_tensor"])
def test_monkeypatching_and_rigged_tensors_change_nothing(tmp_path, name):
    cheat, _ = _grade(tmp_path / "cheat", name, only="kl_analytic")
    honest, _ = _grade(tmp_path / "honest", "zero_kl", only="kl_analytic")
    assert cheat.score == honest.score < 25
    assert [t.status for t in cheat.tests] == [t.status for t in honest.tests]


def test_megabytes_of_output_are_cut(tmp_path):
    result, _ = _grade(tmp_path, "prints_megabytes", only="warmup")
    assert result.score == 15 and 0 < len(result.output) <= 4000 and "more bytes not shown" in result.output


def test_memory_is_limited(tmp_path):
    result, _ = _grade(tmp_path, "memory_hog", only="warmup")
    assert result.score == 0 and "raised memoryerror" in failures(result)
    assert {t.reason for t in result.tests} <= {"raised", "wrong"}   # raised, or a check's verdict quoting it


def test_the_worker_sees_none_of_the_graders_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "do-not-leak")
    submission = build_submission(tmp_path / "s", module_code={
        "schedules": "import os\nprint(sorted(os.environ.items()), os.getcwd())\n"})
    result = grade(str(submission), only="warmup")
    assert result.score == 15 and "do-not-leak" not in result.output and "GITHUB" not in result.output
    assert result.output.rstrip().endswith("scratch") and str(os.getcwd()) not in result.output
