"""End to end: the command on solutions/ and assignment/, usage errors, public-only and --checks-dir."""
import base64
import json
import os
import subprocess
import sys

import pytest

from autograder import cli, rubric
from autograder.grading.engine import grade
from autograder.reporters import gradescope
from support.submissions import ROOT, rubric_copy

pytestmark = pytest.mark.slow

CHECK_IDS = ["shapes", "reparameterization", "kl_analytic", "loss_reduction", "warmup", "determinism", "training"]


def _run(*args, env=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def solutions_run(tmp_path_factory):
    """`grade solutions` through the command line, writing every report."""
    out = tmp_path_factory.mktemp("solutions")
    env = {"GITHUB_STEP_SUMMARY": str(out / "summary.md"), "GITHUB_OUTPUT": str(out / "output"),
           "CLASSROOM": ""}
    proc = _run("grade", "solutions", "--report", f"gradescope={out / 'results.json'}",
                "--report", f"classroom50={out / 'result.json'}", "--report", "github",
                "--report", f"result={out / 'stored.json'}", env=env)
    return proc, out


def test_solutions_earn_100(solutions_run):
    proc, out = solutions_run
    assert proc.returncode == 0, proc.stderr
    assert "total               100/100" in proc.stdout and proc.stdout.count("/") >= 8
    results = json.loads((out / "results.json").read_text())
    assert results["score"] == 100 and all(t["status"] == "passed" for t in results["tests"])
    assert {t["tags"][0] for t in results["tests"]} == set(CHECK_IDS)
    c50 = json.loads((out / "result.json").read_text())
    assert c50["schema"] == "classroom50/result/v1" and c50["score"] == c50["max-score"] == 100
    payload = json.loads(base64.b64decode((out / "output").read_text().strip().split("=", 1)[1]))
    assert payload["status"] == "pass" and sum(t["score"] for t in payload["tests"]) == 100
    assert "## Lab 6 autograder: 100 / 100" in (out / "summary.md").read_text()
    assert "::error" not in proc.stdout
    stored = json.loads((out / "stored.json").read_text())
    assert {t["reason"] for c in stored["checks"] for t in c["tests"]} == {"passed"} and stored["internal_errors"] == []


def test_grading_twice_gives_the_same_results_apart_from_timings(solutions_run, template_for):
    """The command's worker started from nothing; this one is forked from a template, as in grade-all."""
    from autograder import sandbox

    _, out = solutions_run
    first = json.loads((out / "results.json").read_text())
    second = gradescope.to_dict(grade(str(ROOT / "solutions"), template=template_for(sandbox.choose())))
    for data in (first, second):
        data.pop("execution_time")
    assert first == second


def test_noise_from_numpy_gets_the_same_message_every_time(tmp_path, template_for):
    """A mistake that draws from an unseeded global generator is graded word for word the same each time,
    by a worker started from nothing and by one forked from a template."""
    from autograder import sandbox
    from support.submissions import build_submission

    body = "eps = torch.from_numpy(np.random.randn(*mu.shape)).to(mu.dtype)\nreturn mu + eps * torch.exp(0.5 * logvar)\n"
    submission = build_submission(tmp_path / "s", bodies={"reparameterize": "import numpy as np\n" + body})
    first, second = (grade(str(submission), only="determinism", template=template)
                     for template in (None, template_for(sandbox.choose())))
    assert first.score == second.score < first.max_score
    assert [t.message for t in first.tests] == [t.message for t in second.tests]


def test_the_stubs_score_0_and_every_check_says_not_implemented_yet(tmp_path):
    proc = _run("grade", "assignment", "--report", "gradescope=" + str(tmp_path / "results.json"),
                "--report", f"result={tmp_path / 'stored.json'}")
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 0 and len(results["tests"]) > 20
    for test in results["tests"]:
        assert test["output"].startswith("not implemented yet: ") and "NotImplementedError" in test["output"]
        assert "Traceback" not in test["output"]
    assert {t["tags"][0] for t in results["tests"]} == set(CHECK_IDS)
    for check in CHECK_IDS:
        assert f"0/" in next(line for line in proc.stdout.splitlines() if line.strip().startswith(check))
    stored = json.loads((tmp_path / "stored.json").read_text())
    assert {t["reason"] for c in stored["checks"] for t in c["tests"]} == {"not_implemented"}


def test_usage_errors_exit_2_with_one_line(tmp_path):
    proc = _run("grade", str(tmp_path / "missing"), timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _run(timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_folder_without_the_package_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path), "--report", "gradescope=" + str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert "has no lab6_generative/ folder" in err and err.count("\n") == 1
    assert not (tmp_path / "r.json").exists()


def test_public_only_skips_hidden_checks_and_says_so():
    result = grade(str(ROOT / "solutions"), public_only=True, only="determinism")
    (check,) = result.checks
    assert check.status == "skipped" and check.score == 0 and "not run here" in check.first_failure
    assert [t.reason for t in check.tests] == ["not_run"]
    assert result.notes == ["10 points are in hidden checks that were not run here."]


def test_checks_dir_supplies_and_overrides_check_files(tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    (private / "test_warmup.py").write_text(
        '"""An override."""\n\ndef test_private(worker):\n    """the private warm-up check"""\n'
        '    assert worker.call("warmup", calls=[[[0, 3], {}]])[0]["ok"]["value"] == 0.0\n')
    result = grade(str(ROOT / "solutions"), checks_dirs=[str(private)], only="warmup")
    assert [t.name for t in result.tests] == ["the private warm-up check"] and result.score == 15
    extra = {"id": "secret", "title": "Secret", "points": 5, "visibility": "hidden", "timeout": 5}
    hidden = rubric.load(rubric_copy(tmp_path, extra_checks=[extra]))
    result = grade(str(ROOT / "solutions"), hidden, only="secret")
    assert result.checks[0].status == "skipped" and "not available here" in result.checks[0].first_failure


ADAM_SCRIPT = """
import sys
import torch
from autograder.grading.probes import Adam
from lab6_generative.vae import VAE

def train(make):
    torch.manual_seed(0)
    model = VAE(z=16)
    optimizer = make(model.parameters())
    x = torch.rand(256, 784, generator=torch.Generator().manual_seed(1))
    for i in range(30):
        optimizer.zero_grad(set_to_none=True)
        loss = model(x[(i % 4) * 64:(i % 4 + 1) * 64], beta=1.0)[1]
        loss.backward()
        optimizer.step()
    return model.state_dict()

ours = train(lambda p: Adam(p, lr=1e-3))
print("dynamo" if "torch._dynamo" in sys.modules else "no dynamo")
theirs = train(lambda p: torch.optim.Adam(p, lr=1e-3))
print("identical" if all(torch.equal(ours[k], theirs[k]) for k in ours) else "different")
"""


def test_the_training_probes_adam_is_torchs_bit_for_bit_without_importing_dynamo():
    """The train probe's Adam gives the weights torch.optim.Adam gives, and never imports torch._dynamo."""
    proc = subprocess.run([sys.executable, "-c", ADAM_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'solutions'}"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["no", "dynamo", "identical"]


def test_the_examples_tried_do_not_depend_on_which_of_our_modules_are_loaded(tmp_path, monkeypatch, request,
                                                                             template_for):
    """Hypothesis also draws from the constants of the "local" modules a process has imported; a grader
    loads more or fewer of ours (grade, grade-all, the audit, this suite) and edits change them.  The
    checks must send the worker the same requests whatever is loaded (autograder/checks/conftest.py):
    while they run, hypothesis's own reader of those constants is never called, its stand-in is.
    Control: with the pool left as hypothesis fills it, a module of constants does change the requests."""
    import copy
    import hashlib

    from hypothesis.internal.conjecture import providers

    from autograder import sandbox
    from autograder.checks import conftest as checks_plugin
    from autograder.grading import wire
    from autograder.grading.worker import Worker

    # This test's module of constants must not stay in hypothesis's pool for the rest of this process.
    monkeypatch.setattr(providers, "_local_constants", copy.deepcopy(providers._local_constants))
    monkeypatch.setattr(providers, "_seen_modules", set(providers._seen_modules))
    request.addfinalizer(providers.CONSTANTS_CACHE.cache.clear)
    request.addfinalizer(lambda: sys.modules.pop("lab_constants", None))
    calls = {"hypothesis": 0, "stand-in": 0}
    original, stand_in = providers._get_local_constants, checks_plugin._no_local_constants

    def counted(name, function):
        def call():
            calls[name] += 1
            return function()
        return call

    monkeypatch.setattr(providers, "_get_local_constants", counted("hypothesis", original))
    monkeypatch.setattr(checks_plugin, "_no_local_constants", counted("stand-in", stand_in))

    sent = []
    send = Worker.send

    def recording(self, probe, kwargs, deadline):
        if not probe.startswith("__"):   # the checks' requests, not the worker's own (import, self-test)
            sent.append(hashlib.sha256(wire.encode({"probe": probe, "kwargs": kwargs})).hexdigest())
        return send(self, probe, kwargs, deadline)

    monkeypatch.setattr(Worker, "send", recording)
    template = template_for(sandbox.choose())

    def requests():
        sent.clear()
        result = grade(str(ROOT / "solutions"), only="shapes", template=template)
        assert result.score == result.max_score, [t.message for t in result.tests if t.status != "passed"]
        return list(sent)

    before = requests()
    # a local module (outside site-packages, not a test file) full of small numbers and strings
    (tmp_path / "lab_constants.py").write_text(
        "".join(f"N{i} = {i}\nF{i} = {i / 8}\nS{i} = 'float{i}'\n" for i in range(1, 140)))
    monkeypatch.syspath_prepend(str(tmp_path))
    import lab_constants  # noqa: F401

    assert requests() == before
    assert calls["hypothesis"] == 0 and calls["stand-in"] > 0, calls
    monkeypatch.setattr(checks_plugin, "_pin_constants", lambda on: None)
    assert requests() != before, "hypothesis no longer draws local constants: this test tests nothing"
    assert calls["hypothesis"] > 0


def test_a_grade_under_another_hypothesis_release_says_so_in_its_notes(monkeypatch, template_for):
    import hypothesis

    from autograder import facts, sandbox

    template = template_for(sandbox.choose())
    pinned = grade(str(ROOT / "solutions"), only="warmup", template=template)
    assert not [n for n in pinned.notes if "hypothesis" in n]
    monkeypatch.setattr(hypothesis, "__version__", "6.170.17")
    other = grade(str(ROOT / "solutions"), only="warmup", template=template)
    assert [n for n in other.notes if n.startswith(
        f"The checks ran under hypothesis 6.170.17, not {facts.HYPOTHESIS_VERSION}")], other.notes
