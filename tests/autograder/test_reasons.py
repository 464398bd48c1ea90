"""Why a test failed, as data (``TestResult.reason``): set where the failure arises, never read from words.

Fast: the engine's classification (``engine.failure``) is called on each kind of
exception directly, a check handle's "not run" and the session's time budget are
raised without a worker, and the engine's own outcomes (a test that never ran, a
hidden check not run, the zero Results) are built from a Collector by hand.  Slow
tests run check files of its own through the real engine, and start real workers
that the session's time budget cuts short.
"""
import pytest
from hypothesis.errors import FlakyFailure

from autograder import errors, results, rubric as rubric_mod
from autograder.grading import collector as collector_mod, engine
from autograder.grading.session import CheckHandle, SandboxFailure, Session
from support import ROOT

RUBRIC = rubric_mod.load()


def _info(type_name="ValueError", during_import=None, mro=None):
    return {"type": type_name, "mro": mro or [type_name, "Exception"], "message": "bad", "where": None,
            "during_import": during_import}


@pytest.mark.parametrize("exc, reason", [
    (errors.student_error(_info()), "raised"),
    (errors.student_error(_info(during_import="lab6_generative.vae")), "import_failed"),
    (errors.student_error(_info("NotImplementedError", mro=["NotImplementedError", "RuntimeError"])),
     "not_implemented"),
    (errors.student_error(_info("NotImplementedError", "lab6_generative.vae", ["NotImplementedError"])),
     "not_implemented"),
    (errors.BadResult("could not examine what kl_warmup(0, 3) returned: TypeError"), "bad_result"),
    (errors.TimedOut("timed out: kl_warmup(0, 3) was still running"), "timeout"),
    (errors.WorkerCrashed("the process running your code stopped (exit code 3)"), "crashed"),
    (errors.ImportFailed("importing your package took longer than 30 s"), "import_failed"),
    (errors.GradingFailure("a failure of no known kind"), "internal"),
    (AssertionError("kl_warmup(0, 3) gave 1, expected 0"), "wrong"),
    (AssertionError(), "wrong"),
    (KeyError("x"), "internal"),
    (SandboxFailure("the worker could not be started"), "internal"),
    (FlakyFailure("flaky", [AssertionError("gave 1, expected 0")]), "wrong"),
    (FlakyFailure("flaky", [errors.TimedOut("timed out: ...")]), "timeout"),
    (ExceptionGroup("several", [errors.WorkerCrashed("stopped"), AssertionError("x")]), "crashed"),
    (ExceptionGroup("several", [ZeroDivisionError("x")]), "internal"),
])
def test_each_exception_gives_its_reason(exc, reason):
    message, got = engine.failure(exc)
    assert got == reason and got in results.REASONS
    assert message.startswith("internal error in the grader") == (reason == "internal" and not
                                                                 isinstance(exc, errors.GradingFailure))


def test_the_messages_stay_what_they_were():
    """The reason is beside the message, never in it: the student reads the same words as before."""
    assert engine.failure(AssertionError("gave 1\nassert 1 == 0")) == ("gave 1", "wrong")
    assert engine.failure(AssertionError()) == ("a check failed", "wrong")
    text, reason = engine.failure(FlakyFailure("flaky", [AssertionError("gave 1")]))
    assert text.startswith("your code gave different results") and text.endswith(": gave 1")
    assert engine.failure(KeyError("x")) == ("internal error in the grader: KeyError: 'x'", "internal")
    assert engine.failure(errors.TimedOut("timed out: f")) == ("timed out: f", "timeout")


def test_a_reason_that_is_not_in_the_list_is_the_graders_fault():
    odd = errors.TimedOut("timed out", reason="bad luck")
    assert engine.failure(odd) == ("timed out", "internal")


@pytest.mark.parametrize("first", [errors.TimedOut("timed out: f was still running"),
                                   errors.WorkerCrashed("the process running your code stopped"),
                                   errors.BadResult("could not read what f returned: too large")])
def test_a_call_after_its_checks_time_out_or_crash_is_not_run(first):
    """Data, not words: errors.not_run keeps the class and the message's form, and says not_run."""
    handle = CheckHandle(session=None, label="warmup", timeout=5)   # never reaches a worker
    handle.failure = first
    with pytest.raises(type(first)) as raised:
        handle.call("warmup", calls=[])
    assert raised.value.reason == "not_run" and str(raised.value) == f"not run: {first}"
    assert engine.failure(raised.value) == (f"not run: {first}", "not_run")
    assert first.reason != "not_run"     # the failure itself keeps its own


def test_the_time_budget_used_up_is_a_timeout_of_the_submission():
    session = Session(str(ROOT / "solutions"), RUBRIC.limits)
    session.deadline = 0            # used up before the first worker starts: no process is made
    with pytest.raises(errors.TimedOut) as raised:
        session.ensure_worker()
    assert raised.value.reason == "timeout" and str(raised.value).startswith("not run: the grading time budget")
    assert session.worker is None and session.workers_started == 0


@pytest.mark.slow
def test_a_restart_that_the_budget_cuts_short_is_the_submissions_timeout_not_an_internal_error():
    """Earlier checks' time-outs spent the budget: the restarted worker cannot be ready before it ends.
    That is the submission's time (reason timeout, later calls too), not a sandbox failure of ours."""
    import time

    from autograder import sandbox

    session = Session(str(ROOT / "solutions"), RUBRIC.limits, sandbox.choose())
    try:
        session.ensure_worker()
        session.kill_worker()                        # as a check's time-out does
        session.deadline = time.monotonic() + 0.3    # what the earlier checks left: no worker starts in it
        for _ in range(2):
            with pytest.raises(errors.TimedOut) as raised:
                session.ensure_worker()
            assert raised.value.reason == "timeout" and str(raised.value).startswith(
                "not run: the grading time budget"), raised.value
        assert session.sandbox_failure is None and session.workers_started == 2
    finally:
        session.close()


@pytest.mark.slow
def test_a_budget_too_short_for_the_first_worker_is_the_graders_fault():
    """No student code ran yet: a budget that ends before the first worker is ready is ours (internal)."""
    import time

    from autograder import sandbox

    session = Session(str(ROOT / "solutions"), RUBRIC.limits, sandbox.choose())
    session.deadline = time.monotonic() + 0.3
    try:
        with pytest.raises(SandboxFailure, match="was not ready within the grading time budget of 150 s"):
            session.ensure_worker()
    finally:
        session.close()


def _collector(check, nodeids):
    collector = collector_mod.Collector(session=None, checks_by_file={f"/checks/test_{check.id}.py": check})
    collector.items[check.id] = [(n, n.split("::")[1]) for n in nodeids]
    return collector


def test_a_test_the_grader_never_ran_is_its_internal_error_with_its_check():
    check = RUBRIC.check("warmup")
    collector = _collector(check, ["test_warmup.py::a", "test_warmup.py::b", "test_warmup.py::c"])
    collector.outcomes["test_warmup.py::a"] = ("failed", "timed out: f", "timeout")
    collector.passed.add("test_warmup.py::c")
    result = engine._check_result(check, collector, None)
    assert [(t.status, t.reason, t.message) for t in result.tests] == [
        ("failed", "timeout", "timed out: f"), ("failed", "internal", "not run"), ("passed", "passed", "")]
    assert collector.internal == [results.InternalError("warmup",
                                                        "test_warmup.py::b: the grader did not run this test")]


def test_an_internal_error_names_the_check_of_its_test_file():
    check = RUBRIC.check("warmup")
    collector = _collector(check, [])
    assert collector.check_of_node("test_warmup.py::test_x[1]") == "warmup"
    assert collector.check_of_node("../../elsewhere/test_warmup.py") == "warmup"
    assert collector.check_of_node("test_shapes.py::t") is None and collector.check_of_node("") is None


def test_a_hidden_check_not_run_here_is_skipped_not_run():
    check = RUBRIC.check("determinism")
    result = engine._check_result(check, _collector(check, []), "hidden check: not run here")
    assert [(t.status, t.reason) for t in result.tests] == [("skipped", "not_run")] and result.status == "skipped"


def test_the_zero_results_say_why():
    zero = results.nothing_to_grade(RUBRIC, "s", "s: no lab6_generative/ folder found in the submission.")
    assert {(t.status, t.reason) for t in zero.tests} == {("failed", "not_run")} and not zero.internal_errors
    broken = engine.not_graded(RUBRIC, "s", "the worker could not be started", "bwrap")
    assert {(t.status, t.reason) for t in broken.tests} == {("failed", "internal")}
    assert broken.internal_errors == [results.InternalError(None, "the worker could not be started")]
    assert [str(e) for e in broken.internal_errors] == ["the worker could not be started"]
    assert results.from_dict(results.to_dict(broken)) == broken


@pytest.mark.slow
def test_the_engine_stores_the_reason_of_each_way_a_check_file_can_end(tmp_path):
    """Check files of our own, through pytest in the engine, without calling the worker."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "test_warmup.py").write_text(
        "import pytest\nfrom autograder import errors\n\n"
        "def test_wrong():\n    assert 1 == 0, 'kl_warmup(0, 3) gave 1, expected 0'\n\n"
        "def test_timeout():\n    raise errors.TimedOut('timed out: kl_warmup(0, 3) was still running')\n\n"
        "def test_not_run():\n    raise errors.not_run(errors.WorkerCrashed('the process stopped'))\n\n"
        "def test_raised():\n    raise errors.student_error({'type': 'ValueError', 'mro': ['ValueError'], "
        "'message': 'no', 'where': None, 'during_import': None}, 'kl_warmup(0, 3)')\n\n"
        "def test_bug_of_ours():\n    {}['x']\n\n"
        "def test_skipped():\n    pytest.skip('no GPU')\n\n"
        "def test_passes():\n    pass\n", encoding="utf-8")
    result = engine.grade(str(ROOT / "solutions"), RUBRIC, checks_dirs=[str(private)], only="warmup")
    reasons = {t.name: t.reason for t in result.tests}
    assert reasons == {"test_wrong": "wrong", "test_timeout": "timeout", "test_not_run": "not_run",
                       "test_raised": "raised", "test_bug_of_ours": "internal", "test_skipped": "internal",
                       "test_passes": "passed"}
    assert [(e.check, e.message.split("::")[1]) for e in result.internal_errors] == [
        ("warmup", "test_bug_of_ours: internal error in the grader: KeyError: 'x'"),
        ("warmup", "test_skipped: the check skipped this test")]
    by_name = {t.name: t.message for t in result.tests}
    assert by_name["test_not_run"] == "not run: the process stopped"
    assert by_name["test_skipped"] == "the check skipped this test"


@pytest.mark.slow
@pytest.mark.parametrize("loads", [True, False])
def test_the_garbage_collector_pauses_only_while_the_check_files_load(tmp_path, loads):
    """Off while pytest imports the check files (torch's import), on while the tests run, and on after
    the grade, also when a check file could not be loaded (a grading process lives on)."""
    import gc

    private, seen = tmp_path / "private", tmp_path / "seen"
    private.mkdir()
    (private / "test_warmup.py").write_text(
        "import gc\n"
        f"open({str(seen)!r}, 'a').write(f'import {{gc.isenabled()}}\\n')\n"
        + ("" if loads else "raise ImportError('a check file that cannot load')\n")
        + "def test_runs():\n"
        f"    open({str(seen)!r}, 'a').write(f'test {{gc.isenabled()}}\\n')\n", encoding="utf-8")
    result = engine.grade(str(ROOT / "solutions"), RUBRIC, checks_dirs=[str(private)], only="warmup")
    assert gc.isenabled()
    assert seen.read_text().split("\n")[:-1] == (["import False", "test True"] if loads else ["import False"])
    assert bool(result.internal_errors) != loads


def test_resume_never_reuses_a_result_an_older_grader_stored(tmp_path):
    """The stamp matches, the Result has no internal error, but it is version 1: not current."""
    import json

    from autograder.reporters import result as stored
    from autograder.semester import resume

    path = tmp_path / "autograder-result.json"
    stored.write(results.nothing_to_grade(RUBRIC, "s", "why"), str(path))
    (tmp_path / resume.STAMP).write_text("abc g\n")
    assert resume.is_current(str(tmp_path), "abc g", str(path))
    data = json.loads(path.read_text())
    data["version"] = 1
    for check in data["checks"]:
        for test in check["tests"]:
            test.pop("reason")
    path.write_text(json.dumps(data))
    assert not resume.is_current(str(tmp_path), "abc g", str(path))
