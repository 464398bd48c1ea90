"""The template process (grading/template.py): workers forked from it grade exactly as workers started
from nothing, and a hostile submission reaches neither the template, nor the next submission's box,
nor leaves a process behind.  Every effect is checked from outside: the box's files, the template's
process, the next submission's Result."""
import os
import textwrap
import time

import pytest

from autograder import results, rubric, sandbox
from autograder.grading.engine import grade
from autograder.grading.template import Template
from support import ROOT
from support.submissions import build_submission, load, rubric_copy

pytestmark = pytest.mark.slow

# Written into the package's vae.py: everything a worker might try against the template and the box.
REACH = textwrap.dedent("""
    import os as _os, signal as _signal
    _reached = []
    _tmp = _os.environ.get("TMPDIR", ".")
    _os.makedirs(_tmp + "/left/behind", exist_ok=True)
    with open(_tmp + "/left/behind/note", "w") as _f:
        _f.write("from the last submission")
    for _pid in {_os.getppid(), 1, 2}:
        if _pid != _os.getpid():
            try:
                _os.kill(_pid, _signal.SIGKILL)
                _reached.append(f"killed {_pid}")
            except OSError:
                pass
    # The template's memory and environment.  (Under bubblewrap, pid 1 is bubblewrap itself, whose
    # environment is the worker's own, as it was before templates.)
    for _pid in {_os.getppid()}:
        if _pid != _os.getpid():
            for _name in ("mem", "environ"):
                try:
                    with open(f"/proc/{_pid}/{_name}", "rb") as _f:
                        _f.read(1)
                    _reached.append(f"read /proc/{_pid}/{_name}")
                except (OSError, ValueError):
                    pass
    try:
        _os.fork()
        _reached.append("forked")
    except OSError:
        pass
    # What every later worker would inherit from the template: its limits and scheduling.
    import resource as _resource
    _parent = _os.getppid()
    for _limit, _value in ((_resource.RLIMIT_CPU, 200), (_resource.RLIMIT_NOFILE, 9),
                           (_resource.RLIMIT_AS, 2**31)):
        try:
            _resource.prlimit(_parent, _limit, (_value, _value))
            _reached.append(f"set limit {_limit} of the template")
        except (OSError, ValueError):
            pass
    for _name, _call in (("nice", lambda: _os.setpriority(_os.PRIO_PROCESS, _parent, 19)),
                         ("idle", lambda: _os.sched_setscheduler(_parent, _os.SCHED_IDLE, _os.sched_param(0))),
                         ("one cpu", lambda: _os.sched_setaffinity(_parent, {0})),
                         ("user nice", lambda: _os.setpriority(_os.PRIO_USER, 0, 19))):
        try:
            _call()
            _reached.append(f"set {_name} of the template")
        except OSError:
            pass
    try:
        with open(f"/proc/{_parent}/oom_score_adj", "w") as _f:
            _f.write("1000")
        _reached.append("wrote the template's oom_score_adj")
    except OSError:
        pass
    # SIGSTOP to the template through a file's owner, without kill().
    import fcntl as _fcntl
    _r, _w = _os.pipe()
    try:
        _fcntl.fcntl(_r, _fcntl.F_SETOWN, _parent)
        _fcntl.fcntl(_r, 10, int(_signal.SIGSTOP))   # F_SETSIG
        _fcntl.fcntl(_r, _fcntl.F_SETFL, _os.O_ASYNC | _os.O_NONBLOCK)
        _os.write(_w, b"x")
        _reached.append("signalled the template through F_SETOWN")
    except OSError:
        pass
    with open(_tmp + "/reached", "w") as _f:
        _f.write("; ".join(_reached))
""")


@pytest.fixture(params=["bwrap", "landlock"])
def mechanism(request):
    return request.param


@pytest.fixture
def template(mechanism):
    limits = rubric.load().limits
    made = Template(mechanism, limits)
    sandbox.verify_template(made, limits)
    yield made
    root = made.box.root if made.box else None
    made.close()
    if root is not None:  # nothing of the template's is left: its box's path is in the command line of
        # the template and its workers (Landlock), or of bubblewrap, whose PID namespace ends with it
        assert [pid for pid in os.listdir("/proc") if pid.isdigit() and root.encode() in _command_line(pid)] == []


def _command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _stored(result):
    data = results.to_dict(result)
    for check in data["checks"]:
        for test in check["tests"]:
            test.pop("seconds", None)
        check.pop("seconds", None)
    data.pop("seconds", None)
    return data


def test_a_forked_worker_grades_exactly_as_a_fresh_one(template, mechanism, tmp_path):
    bug = load("bugs")[0]
    buggy = build_submission(tmp_path / "bug", bodies={bug["function"]: bug["body"]})
    for submission in (str(ROOT / "assignment"), str(buggy)):
        forked = grade(submission, isolation=mechanism, template=template)
        fresh = grade(submission, isolation=mechanism)
        assert _stored(forked) == _stored(fresh)
    assert template.forks >= 2 and template.started == 1


def test_a_hostile_worker_reaches_neither_the_template_nor_the_next_box(template, mechanism, tmp_path):
    hostile = build_submission(tmp_path / "hostile", module_code={"vae": REACH})
    result = grade(str(hostile), isolation=mechanism, template=template, only="shapes")
    assert not result.internal_errors
    assert template.box is not None, "the template was retired: the hostile worker changed it"
    scratch = template.box.host_scratch
    with open(os.path.join(scratch, "reached"), encoding="utf-8") as f:
        assert f.read() == ""   # no signal, no /proc of another process, no new process, no limit of the template
    assert os.path.exists(os.path.join(scratch, "left", "behind", "note"))

    after = grade(str(ROOT / "solutions"), isolation=mechanism, template=template)
    assert after.score == 100 and not after.internal_errors
    assert template.started == 1       # the same template: the hostile worker could not kill it
    assert os.listdir(scratch) == []   # the next submission's box held nothing of the last one's


def test_a_worker_that_hangs_is_killed_and_the_template_forks_the_next(template, mechanism, tmp_path):
    hanging = build_submission(tmp_path / "hang", module_code={"schedules": "while True:\n    pass\n"})
    fast = rubric.load(rubric_copy(tmp_path, limits={"import_timeout": 3}))
    result = grade(str(hanging), fast, isolation=mechanism, template=template, only="warmup")
    assert result.score == 0 and {t.reason for t in result.tests} == {"import_failed"}
    after = grade(str(ROOT / "solutions"), isolation=mechanism, template=template, only="warmup")
    assert after.score == after.max_score and template.started == 1


def test_a_dead_template_is_replaced_and_the_student_is_still_graded(template, mechanism):
    os.killpg(template.proc.pid, 9)
    template.proc.wait()
    result = grade(str(ROOT / "solutions"), isolation=mechanism, template=template, only="warmup")
    assert result.score == result.max_score and not result.internal_errors
    after = grade(str(ROOT / "solutions"), isolation=mechanism, template=template, only="warmup")
    assert after.score == after.max_score and template.started == 2


def test_grade_without_a_template_forks_its_restarts_from_one_of_its_own_and_leaves_none(
        mechanism, tmp_path, monkeypatch):
    """``grade`` with no template starts one at the first restart and closes it when the grade ends."""
    from autograder.grading import session as session_mod

    made, pids, verifying, roots = [], [], [], []
    real = session_mod._verified_template

    def watched(*args):
        made.append(real(*args))
        pids.append(made[-1].proc.pid if made[-1] else None)
        verifying.append(made[-1].forks if made[-1] else 0)   # the sandbox's self-test forks one
        roots.append(made[-1].box.root if made[-1] else None)
        return made[-1]

    monkeypatch.setattr(session_mod, "_verified_template", watched)
    workers = []
    real_worker = session_mod.Worker
    monkeypatch.setattr(session_mod, "Worker", lambda *args, **kw: workers.append(real_worker(*args, **kw)) or workers[-1])
    crashing = build_submission(tmp_path / "crash", bodies={"kl_divergence": "import os\nos._exit(3)\n"})
    result = grade(str(crashing), isolation=mechanism)
    assert not result.internal_errors and "crashed" in {t.reason for t in result.tests}
    assert len(made) == 1 and made[0], "one template, started at the first restart"
    assert len(workers) >= 3 and made[0].forks - verifying[0] == len(workers) - 1, "every worker after the first is forked from it"
    assert made[0].proc is None and not os.path.exists(f"/proc/{pids[0]}"), "closed with the grade"
    _nothing_left_of(roots[0])


def _nothing_left_of(root):
    """A template's box is gone, and no process (the template, bubblewrap, a worker) names it any more."""
    assert root and not os.path.exists(root), f"{root} was left behind"
    assert [pid for pid in os.listdir("/proc") if pid.isdigit() and root.encode() in _command_line(pid)] == []


def _watch_templates(monkeypatch):
    """Every Template made from now on, in a list."""
    from autograder.grading import template as template_mod

    made, real = [], template_mod.Template

    class Watched(real):
        def __init__(self, *args, **kwargs):
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(template_mod, "Template", Watched)
    return made


def test_a_template_that_fails_its_self_test_is_closed_and_the_workers_start_from_nothing(
        mechanism, tmp_path, monkeypatch):
    from autograder.grading import session as session_mod

    made = _watch_templates(monkeypatch)

    def broken(template, limits=None, deadline=None):
        raise sandbox.SandboxBroken("an escape got through (made up by this test)")

    monkeypatch.setattr(sandbox, "verify_template", broken)
    crashing = build_submission(tmp_path / "crash", bodies={"kl_divergence": "import os\nos._exit(3)\n"})
    result = grade(str(crashing), isolation=mechanism, only="kl_analytic")
    assert result.score == 0 and result.tests[0].reason == "crashed" and not result.internal_errors
    assert made == [], "one check whose crash ends it: no restart, so no template"
    # A restart, as after a first worker: the template's self-test fails, so the worker starts from nothing.
    session = session_mod.Session(str(crashing), rubric.load().limits, mechanism)
    try:
        session.workers_started = 1
        session.start()
        assert len(made) == 1 and session._own_template is False and session.worker.template is None
        root = made[0].box.root if made[0].box else None
    finally:
        session.close()
    assert made[0].proc is None
    if root:
        _nothing_left_of(root)


def test_an_interrupted_self_test_closes_the_template_before_the_interrupt_goes_on(mechanism, monkeypatch):
    from autograder.grading import session as session_mod

    made = _watch_templates(monkeypatch)
    real = sandbox.verify_template
    roots = []

    def interrupted(template, limits=None, deadline=None):
        roots.append(template.box.root)
        real(template, limits, deadline)
        raise KeyboardInterrupt

    monkeypatch.setattr(sandbox, "verify_template", interrupted)
    limits = rubric.load().limits
    with pytest.raises(KeyboardInterrupt):
        session_mod._verified_template(mechanism, limits, time.monotonic() + 150)
    assert len(made) == 1 and made[0].proc is None
    _nothing_left_of(roots[0])


def test_no_template_is_started_with_too_little_of_the_budget_left_or_when_the_pool_has_none(monkeypatch):
    from autograder.grading import session as session_mod

    made = _watch_templates(monkeypatch)
    limits = rubric.load().limits
    assert session_mod._verified_template("landlock", limits, time.monotonic() + limits.start_timeout - 1) is False
    session = session_mod.Session(str(ROOT / "solutions"), limits, "landlock", False)
    session.workers_started = 1
    try:
        session.start()
        assert session._own_template is None and session.worker.template is None
    finally:
        session.close()
    assert made == []
