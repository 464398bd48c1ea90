"""Every report format against its documented schema, from one hand-made Result."""
import base64
import os
import stat
import subprocess
import json

import pytest

from autograder.reporters import classroom50, console, github, gradescope
from autograder.results import CheckResult, Result, TestResult, clip, split_points


def _result(message="kl_divergence(...) = -1, expected 1: the sign is flipped"):
    kl = CheckResult("kl_analytic", "The analytic KL divergence", 25, "public", [
        TestResult("closed form", "kl_analytic", 13, "passed", seconds=0.2),
        TestResult("known values", "kl_analytic", 12, "failed", message, seconds=0.1, reason="wrong")])
    det = CheckResult("determinism", "Reproducibility under a seed", 10, "hidden", [
        TestResult("Reproducibility under a seed", "determinism", 10, "skipped", "hidden check: not run")])
    return Result("subm", 100, [kl, det], output="hello from the student\n",
                  notes=["10 points are in hidden checks that were not run here."], seconds=12.6)


@pytest.mark.parametrize("points, n", [(25, 6), (10, 3), (5, 3), (15, 8), (20, 1)])
def test_points_split_into_whole_points_that_add_up(points, n):
    shares = split_points(points, n)
    assert sum(shares) == points and len(shares) == n and max(shares) - min(shares) <= 1


def test_gradescope_results_json():
    data = gradescope.to_dict(_result())
    assert set(data) == {"score", "execution_time", "output", "tests", "extra_data"}
    assert data["extra_data"] == {"isolation": "none"} and "NOT SANDBOXED" in data["output"]
    assert data["score"] == 13 and data["execution_time"] == 13 and "hello from the student" in data["output"]
    assert sum(t["score"] for t in data["tests"]) == data["score"]
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility", "tags"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
        assert isinstance(test["score"], int) and 0 <= test["score"] <= test["max_score"]
    failed = data["tests"][1]
    assert failed["status"] == "failed" and "sign is flipped" in failed["output"]
    assert failed["tags"] == ["kl_analytic"] and failed["visibility"] == "visible"
    assert data["tests"][2]["visibility"] == "after_published" and data["tests"][2]["tags"] == ["determinism"]


def test_gradescope_file_stays_under_a_megabyte(tmp_path):
    result = _result(message=clip("x" * 10**7))
    result.checks[0].tests *= 300
    gradescope.write(result, tmp_path / "results.json")
    assert (tmp_path / "results.json").stat().st_size < 1_000_000
    json.loads((tmp_path / "results.json").read_text())


def test_classroom50_result_json(tmp_path):
    data = classroom50.to_dict(_result(), env={})
    assert data["schema"] == "classroom50/result/v1" and set(data) == {"schema", "score", "max-score", "tests"}
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 13
    assert data["max-score"] == sum(t["max-score"] for t in data["tests"]) == 35
    for test in data["tests"]:
        assert set(test) == {"test-name", "passed", "score", "max-score"}
        assert isinstance(test["passed"], bool) and type(test["score"]) is int and type(test["max-score"]) is int
    assert [t["test-name"] for t in data["tests"]] == ["kl_analytic", "determinism"], "one row per rubric check"
    assert [t["passed"] for t in data["tests"]] == [False, False]
    env = {"CLASSROOM": "ml", "ASSIGNMENT": "lab6", "SUBMISSION_TAG": "submit/x", "COMMIT_URL": "https://c",
           "RELEASE_URL": "https://r"}
    data = classroom50.to_dict(_result(), env=env)
    assert (data["classroom"], data["assignment"], data["submission"], data["commit"], data["release"],
            data["review"]) == ("ml", "lab6", "submit/x", "https://c", "https://r", "https://c")


def test_github_outputs(tmp_path):
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    lines = []
    github.write(_result(), env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)},
                 out=lines.append)
    table = summary.read_text()
    assert "| The analytic KL divergence (`kl_analytic`) | 13 / 25 |" in table
    # The hidden check did not run: the score is that of what ran, never "13 / 35".
    assert table.startswith("## Lab 6 autograder: public checks 13 / 25; the hidden checks (10 points) "
                            "are graded by your instructor\n") and "13 / 35" not in table
    assert "| Reproducibility under a seed (`determinism`) | - / 10 | (not run) hidden check" in table
    key, value = output.read_text().strip().split("=", 1)
    payload = json.loads(base64.b64decode(value))
    assert key == "result" and set(payload) == {"version", "status", "max_score", "tests"}
    assert payload["version"] == 1 and payload["status"] == "fail" and payload["max_score"] == 25
    assert sum(t["score"] for t in payload["tests"]) == 13 and len(payload["tests"]) == 2, "what ran, only"
    for test in payload["tests"]:
        assert {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"} <= set(test)
        assert test["status"] in ("pass", "fail", "error")
    assert len(lines) == 1 and all(line.startswith("::error title=") and "\n" not in line for line in lines)
    assert "kl_analytic%3A known values" in lines[0]


def test_console_table():
    text = console.table(_result())
    assert "kl_analytic" in text and "13/25" in text and "the sign is flipped" in text
    assert "(not run)" in text and "Note: 10 points" in text
    assert "13/35" not in text and "/100" not in text, "a score counting checks that did not run"
    assert text.splitlines()[-2] == ("Score: public checks 13/25; the hidden checks (10 points) are graded by "
                                     "your instructor.")
    assert text.splitlines()[-1].startswith("Not passed yet: kl_analytic (13/25).")
    assert "::" not in text, "no CI wording"


HINT = "as if std = exp(logvar); std is exp(0.5 * logvar)"
LONG = ("after reparameterize(mu, logvar) followed by sum(w * z).backward(), dz/dlogvar * w = [-0.492276, "
        "0.0526185, 1.19778, -0.0477571, -12.1333, -1.00716, ...], expected 0.5 * (z - mu) * w = [-0.246138, "
        "0.0263093, 0.598889, -0.0238786, -6.06666, -0.503581, ...]: it is twice that, " + HINT)


def _every_check_ran(message=LONG, public=None):
    rep = CheckResult("reparameterization", "The reparameterization trick", 20, "hidden", [
        TestResult("gradients", "reparameterization", 10, "failed", message, reason="wrong"),
        TestResult("fresh noise", "reparameterization", 10, "failed", "second failure", reason="wrong")])
    warm = CheckResult("warmup", "The KL warm-up schedule", 15, "public", [
        TestResult("linear", "warmup", 15, "passed")])
    result = Result("subm", 35, [rep, warm], isolation="bwrap")
    if public is not None:
        result.public_tests = public
    return result


def test_every_surface_shows_the_first_failure_in_full(tmp_path):
    """No cut at a column width: the console (below the table), the summary, the annotations, Gradescope."""
    result = _every_check_ran()
    text = console.table(result)
    assert "First failure of each check, in full:" in text
    quoted = " ".join(line[2:] for line in text.splitlines() if line.startswith("| "))
    assert LONG in quoted and all(len(line) <= console.WIDTH for line in text.splitlines())
    assert text.splitlines()[-2] == "Score: 15/35."
    md = github.summary_markdown(result)
    assert md.startswith("## Lab 6 autograder: 15 / 35\n") and HINT.replace("*", "\\*") in md
    assert "\u2026" not in md, "nothing cut"
    lines = []
    github.write(result, env={}, out=lines.append)
    assert len(lines) == 2 and HINT in lines[0] and "second failure" in lines[1], "first failures first"
    assert HINT in gradescope.to_dict(result)["tests"][0]["output"]
    payload = github.reporter_result(result)
    assert payload["max_score"] == 35 and payload["status"] == "fail" and HINT in payload["tests"][0]["message"]


def test_a_message_beyond_the_limit_is_cut_in_the_middle_keeping_the_hint():
    from autograder.results import MESSAGE_LIMIT

    result = _every_check_ran("START " + "x" * (3 * MESSAGE_LIMIT) + " " + HINT)
    for shown in (console.table(result), github.summary_markdown(result), github.annotations(result)[0]):
        assert "START" in shown and "chars cut" in shown
        assert HINT.replace(" ", "") in shown.replace("| ", "").replace("\n", "").replace(" ", "").replace("\\", "")


def test_public_tests_are_listed_and_count_as_lost_points():
    from autograder.reporters import everything_passed, junit

    failing = junit.PublicTests(total=27, failed=[("tests/test_kl_divergence.py::test_known_values",
                                                  "kl_divergence gave -1, expected 1: the sign is flipped")])
    full = CheckResult("warmup", "The KL warm-up schedule", 15, "public", [
        TestResult("linear", "warmup", 15, "passed")])
    for public, passed in ((junit.PublicTests(total=27), True), (failing, False),
                           (junit.PublicTests(problem="the public tests did not run (pytest left no report)"), False)):
        result = Result("subm", 15, [full], isolation="bwrap")
        result.public_tests = public
        assert everything_passed(result) is passed
        text = console.table(result)
        assert f"Public tests (pytest): {public.summary()}" in text
        assert text.splitlines()[-1] == ("Everything that ran passed." if passed else
                                         f"Not passed yet: the public tests ({public.summary()}). "
                                         "Start with the first failure of each, above.")
        payload = github.reporter_result(result)
        assert payload["status"] == ("pass" if passed else "fail") and payload["max_score"] == 15
        assert "Public tests (pytest):" in github.summary_markdown(result)
        assert "Public tests (pytest):" in gradescope.to_dict(result)["output"]
    lines = github.annotations(result)
    assert len(lines) == 1 and lines[0].startswith("::error title=public test public tests::")
    result.public_tests = failing
    assert "the sign is flipped" in console.table(result) and "the sign is flipped" in github.summary_markdown(result)
    assert any(t["name"].startswith("Public test: tests/test_kl_divergence.py") and t["status"] == "fail"
               for t in github.reporter_result(result)["tests"])


def test_junit_reports_are_read_as_data(tmp_path):
    from autograder.reporters import junit

    report = tmp_path / "report.xml"
    report.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="4">'
        '<testcase classname="tests.test_kl" name="test_ok" time="0.1"/>'
        '<testcase classname="tests.test_kl" name="test_sign"><failure message="AssertionError: the sign is '
        'flipped&#10;assert False">long traceback</failure></testcase>'
        '<testcase classname="tests.test_kl.TestX" name="test_y"><error message="fixture broke"/></testcase>'
        '<testcase classname="tests.test_kl" name="test_skip"><skipped message="later"/></testcase>'
        '<testcase classname="" name="tests.test_broken"><error message="collection failure"/></testcase>'
        '</testsuite></testsuites>')
    read = junit.read(report)
    assert (read.total, read.passed, read.summary()) == (4, False, "3 of 4 failed")
    assert read.failed == [("tests/test_kl.py::test_sign", "the sign is flipped"),
                           ("tests/test_kl.py::TestX::test_y", "fixture broke"),
                           ("tests.test_broken", "collection failure")]
    assert junit.read(tmp_path / "missing.xml").problem.startswith("the public tests did not run")
    (tmp_path / "bad.xml").write_text("<testsuites><oops")
    assert "could not be read" in junit.read(tmp_path / "bad.xml").problem
    (tmp_path / "empty.xml").write_text("<testsuites/>")
    assert not junit.read(tmp_path / "empty.xml").passed


@pytest.mark.slow
def test_results_to_a_device_are_written_in_place_not_renamed_over_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    gradescope.write(_result(), str(fifo))
    out, _ = reader.communicate(timeout=10)
    assert json.loads(out)["score"] == 13 and stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize("s", ["<img src=x onerror=alert(1)>\n## NOTE TO INSTRUCTOR\n| fake | row |",
                               "ESC\x1b[2J\x1b[31mred NUL\x00 caf\udce9 \u202eevil",
                               "  total               100/100\n::notice::forged\r\n- item"])
def test_public_test_names_and_messages_are_student_text(s):
    """A student's test names and messages reach the reports only through autograder/text.py."""
    from autograder.reporters import junit

    full = CheckResult("warmup", "The KL warm-up schedule", 15, "public", [
        TestResult("linear", "warmup", 15, "passed")])
    result = Result("subm", 15, [full], isolation="bwrap")
    result.public_tests = junit.PublicTests(total=2, failed=[(s, s)])
    text = console.table(result)
    assert [line.split()[0] for line in text.splitlines() if line.startswith("  ")] == ["check", "warmup", "total"]
    assert not any(c in text for c in "\x1b\x00\r\u202e") and "\n::" not in text
    md = github.summary_markdown(result)
    assert "<img" not in md and [line for line in md.splitlines() if line.startswith("|")] == md.splitlines()[2:5]
    assert [line for line in md.splitlines() if line.startswith(("#", "::"))] == [md.splitlines()[0]]
    lines = github.annotations(result)
    assert len(lines) == 1 and not any(c in lines[0] for c in "\r\n\x1b\x00")
    json.dumps(github.reporter_result(result), ensure_ascii=False).encode("utf-8")
    json.dumps(gradescope.to_dict(result), ensure_ascii=False).encode("utf-8")
