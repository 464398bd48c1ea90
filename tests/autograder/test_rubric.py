"""grading.yml: the repository's rubric, and every way a rubric can be wrong."""
import pytest
import yaml

from autograder import cli, rubric
from autograder.rubric import RubricError
from support.submissions import ROOT

SOLUTIONS = str(ROOT / "solutions")

ISSUE_RUBRIC = {"shapes": 10, "reparameterization": 20, "kl_analytic": 25, "loss_reduction": 15,
                "warmup": 15, "determinism": 10, "training": 5}


def test_the_repository_rubric_is_the_issue_rubric():
    r = rubric.load()
    assert {c.id: c.points for c in r.checks} == ISSUE_RUBRIC
    assert r.total == 100 == sum(c.points for c in r.checks)
    assert {c.visibility for c in r.checks} == {"public", "hidden"}
    files = rubric.locate(r)
    assert all(files[c.id] and files[c.id].endswith(f"test_{c.id}.py") for c in r.checks)


def _write(tmp_path, data):
    path = tmp_path / "grading.yml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _valid():
    with open(rubric.DEFAULT_PATH) as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(extra=1), "unknown key 'extra'"),
    (lambda d: d["checks"][0].update(weight=2), "check 'shapes': unknown key 'weight'"),
    (lambda d: d["checks"][0].update(points=11), "add up to 101, but total is 100"),
    (lambda d: d["checks"][1].update(id="shapes"), "appears twice"),
    (lambda d: d["checks"][0].update(visibility="secret"), "visibility must be public or hidden"),
    (lambda d: d["checks"][0].pop("title"), "check 'shapes': missing title"),
    (lambda d: d["checks"][0].update(timeout=-1), "timeout must be a positive number"),
    (lambda d: d["checks"][0].update(points=2.5), "points must be a positive integer"),
    (lambda d: d["checks"][0].update(file="../evil.py"), "file must be a file name"),
    (lambda d: d["limits"].update(memory_gb=4), "limits: unknown key 'memory_gb'"),
    (lambda d: d.pop("total"), "missing total"),
])
def test_invalid_rubrics_are_rejected_with_one_clear_sentence(tmp_path, change, message):
    data = _valid()
    change(data)
    with pytest.raises(RubricError) as err:
        rubric.load(_write(tmp_path, data))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(RubricError, match="not valid YAML"):
        rubric.load(_write(tmp_path, "checks: [unclosed"))
    with pytest.raises(RubricError, match="cannot read the rubric"):
        rubric.load(tmp_path / "nope.yml")


def test_unknown_test_files_are_errors(tmp_path):
    data = _valid()
    data["checks"][0]["file"] = "test_missing.py"  # shapes is public: its file must exist
    with pytest.raises(RubricError, match="test_missing.py is in none of"):
        rubric.locate(rubric.load(_write(tmp_path, data)))
    extra = tmp_path / "checks"
    extra.mkdir()
    (extra / "test_stray.py").write_text("def test_x(): pass\n")
    with pytest.raises(RubricError, match="test_stray.py is not claimed by any check"):
        rubric.locate(rubric.load(), checks_dirs=[extra])


def test_a_missing_hidden_check_file_is_not_an_error(tmp_path):
    data = _valid()
    data["total"] += 5
    data["checks"].append({"id": "secret", "title": "Secret", "points": 5, "visibility": "hidden", "timeout": 5})
    located = rubric.locate(rubric.load(_write(tmp_path, data)))
    assert located["secret"] is None and located["shapes"]


def test_cli_rubric_errors_exit_2_with_one_line(tmp_path, capsys):
    data = _valid()
    data["checks"][0]["points"] = 1
    code = cli.main(["grade", SOLUTIONS, "--rubric", str(_write(tmp_path, data))])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "add up to 91" in err and "Traceback" not in err


def test_unknown_only_id_lists_the_checks(capsys):
    assert cli.main(["grade", SOLUTIONS, "--only", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no check 'nope'" in err and "kl_analytic" in err
