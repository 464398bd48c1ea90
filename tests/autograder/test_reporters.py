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
        TestResult("known values", "kl_analytic", 12, "failed", message, seconds=0.1)])
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
    assert "| The analytic KL divergence (`kl_analytic`) | 13 / 25 |" in table and "13 / 35" in table
    key, value = output.read_text().strip().split("=", 1)
    payload = json.loads(base64.b64decode(value))
    assert key == "result" and set(payload) == {"version", "status", "max_score", "tests"}
    assert payload["version"] == 1 and payload["status"] == "fail" and payload["max_score"] == 35
    assert sum(t["score"] for t in payload["tests"]) == 13
    for test in payload["tests"]:
        assert {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"} <= set(test)
        assert test["status"] in ("pass", "fail", "error")
    assert len(lines) == 1 and all(line.startswith("::error title=") and "\n" not in line for line in lines)
    assert "kl_analytic%3A known values" in lines[0]


def test_console_table():
    text = console.table(_result())
    assert "kl_analytic" in text and "13/25" in text and "13/35" in text and "the sign is flipped" in text
    assert "(not run)" in text and "Note: 10 points" in text


def test_results_to_a_device_are_written_in_place_not_renamed_over_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    gradescope.write(_result(), str(fifo))
    out, _ = reader.communicate(timeout=10)
    assert json.loads(out)["score"] == 13 and stat.S_ISFIFO(os.stat(fifo).st_mode)
