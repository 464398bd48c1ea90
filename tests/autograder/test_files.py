"""autograder/files.py: the grader's files are written whole or not at all, never through a planted link."""
import os

import pytest

from autograder import files


def test_a_write_replaces_the_file_whole_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "deep" / "grades.csv"
    files.write_text(target, "a,b\r\n1,2\r\n", newline="")
    files.write_text(target, "new\n", sync=True)
    assert target.read_bytes() == b"new\n" and os.listdir(target.parent) == ["grades.csv"]
    files.write_text(target, "bad \udcff byte\n")
    assert target.read_text(encoding="utf-8") == "bad \ufffd byte\n", "always valid UTF-8"
    files.write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old\n")
    with pytest.raises(ValueError):
        files.write_text(target, "new\n", newline="bogus")   # fails after the temporary file exists
    with pytest.raises(RuntimeError):
        with files.atomic(target, suffix=".png") as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("the plot failed")
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["report.md"]


def test_a_link_planted_where_the_old_temporary_went_is_never_written_through(tmp_path):
    """The old writers used a fixed name (FILE.tmp): a link left there sent the report elsewhere."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    os.symlink(victim, tmp_path / "results.json.tmp")
    files.write_text(tmp_path / "results.json", "{}\n")
    assert victim.read_text() == "keep\n" and (tmp_path / "results.json").read_text() == "{}\n"
    assert not (tmp_path / "results.json").is_symlink()


def test_a_device_is_written_in_place_not_replaced():
    files.write_text(os.devnull, "discarded\n")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
