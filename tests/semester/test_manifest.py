"""collect's manifest.csv through its one reader and writer (autograder/semester/manifest.py)."""
import csv

import pytest

from autograder import facts
from autograder.errors import UsageError
from autograder.semester import final_grades, manifest
from autograder.semester.manifest import Row

FULL = Row("ana", "https://github.com/org/ana.git", "main", "a" * 40, "2026-12-01T22:00:00+00:00",
           "2026-12-01T23:59:00+01:00", 0.0, True, manifest.GITHUB_PUSH, "")
LATE = Row("ben", "ben.git", "trunk", "b" * 40, "2026-12-03T10:00:00+00:00", "2026-12-01T23:59:00+01:00",
           1981.5, False, manifest.COMMIT_DATE, "commit dates used (no GitHub token for push times)")
MISSING = Row("cy", "cy.git", "", "", "", "2026-12-01T23:59:00+01:00", None, False, "",
              "cannot read the repository (missing, private, or no access?)")


def test_rows_round_trip_in_collects_columns(tmp_path):
    manifest.write(tmp_path, [FULL, LATE, MISSING])
    assert manifest.FILE == facts.MANIFEST_FILE == "manifest.csv"
    with open(tmp_path / "manifest.csv", newline="", encoding="utf-8") as f:
        raw = list(csv.reader(f))
    assert tuple(raw[0]) == manifest.COLUMNS
    assert raw[1][6:8] == ["0", "yes"] and raw[2][6:8] == ["1981.5", "no"] and raw[3][3] == raw[3][6] == ""
    read = manifest.read(tmp_path)
    assert list(read) == ["ana", "ben", "cy"] and list(read.values()) == [FULL, LATE, MISSING]
    assert not FULL.nothing_collected and MISSING.nothing_collected
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.csv"], "no temporary file left behind"


def test_no_manifest_is_none_and_a_file_that_is_not_one_is_one_sentence(tmp_path):
    assert manifest.read(tmp_path) is None
    (tmp_path / "manifest.csv").write_text("who,late\nana,3\n")
    with pytest.raises(UsageError, match="no 'student' column"):
        manifest.read(tmp_path)
    (tmp_path / "manifest.csv").write_bytes(b"student,commit\n\xff\xfe,abc\n")
    with pytest.raises(manifest.ManifestError, match="cannot read"):
        manifest.read(tmp_path)
    for bad in ("soon", "nan", "inf"):
        (tmp_path / "manifest.csv").write_text(f"student,commit,minutes_late\nana,abc,{bad}\n")
        with pytest.raises(manifest.ManifestError, match=f"minutes_late of 'ana' is not a number: '{bad}'"):
            manifest.read(tmp_path)


def test_optional_columns_may_be_missing_and_mean_not_known(tmp_path):
    """What the readers tolerated before: a hand-written manifest with just student and pushed_at (release.submitted),
    one without a commit column (no one is missing), a byte order mark, padded header names, short lines."""
    (tmp_path / "manifest.csv").write_text("\ufeff student , pushed_at\nana,2026-12-01T22:00:00+00:00\nben\n,\n",
                                           encoding="utf-8")
    rows = manifest.read(tmp_path)
    assert rows == {"ana": Row("ana", pushed_at="2026-12-01T22:00:00+00:00"), "ben": Row("ben")}
    assert rows["ana"].commit is None and not rows["ana"].nothing_collected and rows["ana"].minutes_late is None
    assert not final_grades.nothing_collected(rows["ben"])
    (tmp_path / "manifest.csv").write_text("student,commit,minutes_late,on_time\nana,,,\nben,abc,-3,maybe\n")
    rows = manifest.read(tmp_path)
    assert rows["ana"].nothing_collected and rows["ben"].minutes_late == 0 and rows["ben"].on_time is None
    # A column the file has reads as written ("" for an empty commit: nothing collected); one it lacks is not known.
    assert (rows["ana"].commit, rows["ben"].commit, rows["ana"].problems) == ("", "abc", "")
    assert rows["ana"].minutes_late is None and rows["ben"].on_time is None and Row("ana").commit is None


@pytest.mark.parametrize("hostile", [
    "a, b", 'say "hi", then\nleave', "=HYPERLINK(\"http://evil\",\"click\")", "+1\r\n-2", "@SUM(A1)", "tab\there",
])
def test_a_hostile_value_stays_one_value_of_one_row(tmp_path, hostile):
    """Branch names and git's messages come from students' repositories: a comma, a quote, a line break or a
    spreadsheet formula is quoted by the csv module and reads back exactly, in its own cell of its own row."""
    rows = [Row("ana", branch=hostile, commit="a" * 40, minutes_late=0.0, problems=hostile), LATE]
    manifest.write(tmp_path, rows)
    with open(tmp_path / "manifest.csv", newline="", encoding="utf-8") as f:
        raw = list(csv.reader(f))
    assert len(raw) == 3 and all(len(line) == len(manifest.COLUMNS) for line in raw)
    assert list(manifest.read(tmp_path).values()) == rows


def test_collects_late_penalty_reads_the_typed_minutes(tmp_path):
    manifest.write(tmp_path, [FULL, LATE, MISSING])
    read = final_grades.read_manifest(str(tmp_path))
    assert read["ben"].minutes_late == 1981.5 and final_grades.missing_reason(read["cy"]).startswith("cannot read")
    assert final_grades.missing_reason(None) == "no repository collected"
