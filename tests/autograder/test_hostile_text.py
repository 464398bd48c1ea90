"""Student text is data: every report survives any string, and Markdown reports show it as text.

A student controls the messages of the exceptions their code raises, what it
prints, and the name of their folder (grade-all's student names).  Each
hostile string below goes into every one of those fields at once; every
reporter, grades.csv, report.md and the LMS exports are then checked from
outside: the file is valid UTF-8 and parses, the student's score is in it,
and the Markdown has no HTML, no block of the student's making and the right
table shape.  The functions of autograder/text.py get property tests.
"""
import base64
import csv
import html
import io
import json
import os
import re
import subprocess
import sys
import types
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder.semester.manifest import Row
from autograder.semester import class_report
from autograder import reporters, results, rubric as rubric_mod, text
from autograder.semester.exports import cli as export_cli
from autograder.reporters import console, github, gradescope, result as stored
from autograder.results import CheckResult, InternalError, Result, TestResult
from support import ROOT

HINT = "hint: KL is never negative"
CUT = re.escape(text.CUT_MARK).replace(r"\{\}", r"(\d+)")  # " [… 123 chars cut …] "
HOSTILE = {
    "lone surrogate": "caf\udce9 \ud83d half a pair",
    "html": '<img src=x onerror="alert(1)"><script>alert(2)</script>',
    "heading": "\n## NOTE TO INSTRUCTOR: give this student full marks\n# Class report: all 100\n",
    "table": "| fake | table |\n|---|---|\n| 100 | 100 |",
    "backticks": "```\n</details>\n```` `code` ~~gone~~ **bold** _it_",
    "link": "[click here](http://evil.example) ![x](http://evil.example/x.png) [ref]: http://evil",
    "control": "NUL\x00 BEL\x07 ESC\x1b[2J\x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07 DEL\x7f C1\x85",
    "line ends": "a\r\nb\rc\u2028d\u2029e\x0bf\x0cg\x1ch",
    "bidi": "grade \u202e001\u202c \u2066x\u2069",
    "block starts": "- item\n+ item\n1. item\n2) item\n===\n---\n    indented code\n> quote",
    "entities and math": "&lt;img&gt; &amp; &#124; $x = \\frac{1}{0}$ \\| \\",
    "1 MB line": "x" * 1_000_000 + " " + HINT,
}
ALL = "".join(HOSTILE.values())


def _hostile_result(s, name="subm"):
    """A Result whose every student-controlled field holds ``s``: 13 of 35 points."""
    kl = CheckResult("kl_analytic", "The analytic KL divergence", 25, "public", [
        TestResult("closed form", "kl_analytic", 13, "passed"),
        TestResult("known values", "kl_analytic", 12, "failed", f"your kl_divergence raised ValueError: {s}",
                   reason="raised")])
    warm = CheckResult("warmup", "The KL warm-up schedule", 10, "hidden", [
        TestResult("linear", "warmup", 10, "failed", s, reason="wrong")])
    return Result(name, 100, [kl, warm], output=s, notes=[s, f"{s}: nothing was collected"],
                  internal_errors=[InternalError("warmup", f"test_warmup.py::linear: {s}")], seconds=3.0,
                  isolation="bwrap")


def _utf8(path):
    return open(path, "rb").read().decode("utf-8")  # strict: raises on anything but valid UTF-8


def _cells(row):
    """A Markdown table row split at its unescaped pipes (GFM: a backslash before | escapes it)."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def _no_markup_of_theirs(md, headings):
    """No HTML, and no heading other than the grader's ``headings``."""
    assert not re.search(r"<\s*(img|script|details|a)\b", md, re.I), "raw HTML from a submission"
    heads = [line for line in md.splitlines() if line.lstrip().startswith("#")]
    assert heads == headings, heads
    assert not any(line.startswith(("## NOTE", "# Class report: all")) for line in md.splitlines())


# --------------------------------------------------------------------------------------------
# autograder/text.py
# --------------------------------------------------------------------------------------------

def test_clean_examples():
    assert text.clean("caf\udce9") == "caf\ufffd" and text.clean(b"caf\xe9") == "caf\ufffd"
    assert text.clean("a\x00b\x1bc\x7f\x85") == "a\u2400b\u241bc\u2421\ufffd", "controls made visible"
    assert text.clean("\x1b[31mred\x1b[0m") == "red", "terminal colours dropped"
    assert text.clean("a\r\nb\rc\u2028d") == "a\nb\nc\nd" and text.clean("tab\there") == "tab\there"
    assert text.clean("\u202eevil") == "\ufffdevil"
    assert text.clean(None) == "" and text.clean(12) == "12"
    assert text.clean("plain ünïcödé ✓") == "plain ünïcödé ✓"

    class Hostile:
        def __str__(self):
            raise RuntimeError

        def __repr__(self):
            raise RuntimeError

    assert text.clean(Hostile()) == "<unprintable Hostile>"
    assert text.encodable("a\udce9\x00") == "a\ufffd\x00", "encodable changes the surrogates only"


def test_clean_cuts_in_the_middle_and_says_how_much():
    long = "START " + "x" * 10_000 + " " + HINT
    cut = text.clean(long, 200)
    assert len(cut) <= 200 and cut.startswith("START ") and cut.endswith(HINT)
    marker = re.search(CUT, cut)
    assert int(marker.group(1)) == len(long) - len(cut) + len(marker.group())
    assert text.clean("short", 200) == "short" and text.clean("abcdef", 3) == "abc" and text.clean("abc", 0) == ""
    huge = text.clean("y" * 50_000_000 + HINT, 300)  # cut before cleaning: fast, and the end survives
    assert len(huge) <= 300 and huge.endswith(HINT) and re.search(CUT, huge)


def test_markdown_examples():
    assert text.markdown("plain words, 3.5 and (1, 2)") == "plain words, 3.5 and (1, 2)"
    assert text.markdown("<img src=x>") == "&lt;img src=x&gt;"
    assert text.markdown("a | b") == "a \\| b" and text.markdown("\\|") == "&#92;\\|"
    assert text.markdown("## NOTE\nnext") == "\\#\\# NOTE \u21b5 next"
    assert text.markdown("- item") == "\\- item" and text.markdown("12. item") == "12\\. item"
    assert text.markdown("`x` *y* _z_ [a](b) ~s~ $m$") == "\\`x\\` \\*y\\* \\_z\\_ \\[a\\](b) \\~s\\~ &#36;m&#36;"


SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
FRAGMENTS = st.sampled_from(list(HOSTILE.values())[:-1] + ["\\", "|", "<", "&", "\n", "\r", "`" * 5, "1.", "-"])
ANY_TEXT = st.lists(st.one_of(st.text(st.characters(exclude_categories=())), st.text(SURROGATES), FRAGMENTS),
                    max_size=8).map("".join)
BAD_CATEGORIES = {"Cs", "Zl", "Zp"}
BIDI = set(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
# The same examples in every run (a commit passes or fails CI by its code, not by a draw), and no
# health check that times how fast examples are made: a loaded machine makes them slowly.
STEADY = dict(derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=300, **STEADY)
@given(ANY_TEXT, st.integers(0, 400))
def test_clean_gives_valid_printable_text(s, limit):
    out = text.clean(s)
    out.encode("utf-8")
    assert not any(unicodedata.category(c) in BAD_CATEGORIES or c in BIDI or
                   (unicodedata.category(c) == "Cc" and c not in "\n\t") for c in out)
    assert text.clean(out) == out, "clean is idempotent"
    short = text.clean(s, limit)
    assert len(short) <= limit
    if len(out) <= limit:
        assert short == out
    elif limit >= 40:
        head, _, tail = re.split(CUT, short)
        assert out.startswith(head) and out.endswith(tail) and abs(len(head) - len(tail)) <= 1


@settings(max_examples=300, **STEADY)
@given(ANY_TEXT)
def test_markdown_is_one_inert_line(s):
    out = text.markdown(s)
    out.encode("utf-8")
    assert "<" not in out and ">" not in out and "$" not in out
    assert len(out.splitlines()) <= 1 and "\n" not in out and out == out.strip()
    assert "\\\\" not in out, "the only backslashes are escapes"
    assert not re.search(r"\\(?![`*_\[\]#|~\-+=.)])", out), "a backslash always escapes"
    bare = re.sub(r"&(#\d+|amp|lt|gt);", "", out)
    assert "&" not in bare and not re.search(r"(?<!\\)[|`*_\[\]#~]", bare), "every markup character is escaped"
    assert not re.match(r"[-+=]|\d+[.)]", out), "no list, rule or heading can start"


try:  # a CommonMark parser with GFM tables, to read the Markdown as GitHub does (a dev dependency)
    from markdown_it import MarkdownIt
except ImportError:
    MarkdownIt = None


def _rendered(md):
    """``md`` as HTML; None without markdown-it-py (the rendering checks are then left out)."""
    return MarkdownIt("commonmark").enable("table").render(md) if MarkdownIt else None


def _seen(plain):
    """Text as a reader compares it: whitespace and ↵ marks as single spaces."""
    return " ".join(plain.replace("\u21b5", " ").split())


def _shown(fragment):
    """What a reader sees of rendered HTML text."""
    return _seen(html.unescape(fragment))


@settings(max_examples=150, **STEADY)
@given(ANY_TEXT)
def test_markdown_renders_as_the_text_it_was(s):
    """In a paragraph and in a table cell, CommonMark + GFM tables show the cleaned text, nothing else."""
    if MarkdownIt is None:
        pytest.skip("markdown-it-py is not installed")
    expected = _seen(text.clean(s))
    paragraph = _rendered("Message: " + text.markdown(s))
    assert re.fullmatch(r"<p>Message: ?(.*)</p>\n", paragraph, re.S), paragraph
    assert _shown(paragraph[len("<p>Message:"):-len("</p>\n")]) == expected
    table = _rendered(f"| a | b |\n|---|---|\n| {text.markdown(s)} | end |\n")
    cells = re.findall(r"<td>(.*?)</td>", table, re.S)
    assert len(cells) == 2 and cells[1] == "end" and _shown(cells[0]) == expected, table


# --------------------------------------------------------------------------------------------
# Every reporter, every hostile string
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("s", list(HOSTILE.values()) + [ALL], ids=list(HOSTILE) + ["all at once"])
def test_every_reporter_writes_valid_files_with_the_score(tmp_path, s):
    result = _hostile_result(s, name=s)
    for name in ("console", "gradescope", "classroom50", "result"):
        reporters.write(result, name, str(tmp_path / name))
    shown = _utf8(tmp_path / "console")
    assert "13/35" in shown and not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", shown), "no control characters"
    assert [line.split()[0] for line in shown.splitlines() if line.startswith("  ")] == \
        ["check", "kl_analytic", "warmup", "total"], "one line per check, whatever the message"

    data = json.loads(_utf8(tmp_path / "gradescope"))
    assert data["score"] == 13 == sum(t["score"] for t in data["tests"]) and len(data["tests"]) == 3
    assert os.path.getsize(tmp_path / "gradescope") < 1_000_000
    assert json.loads(_utf8(tmp_path / "classroom50"))["score"] == 13

    again = stored.read(tmp_path / "result")
    assert again.score == 13 and again.tests[2].message == text.encodable(s), "lossless but for surrogates"
    assert again.submission == text.encodable(s) and again.output == text.encodable(s)

    summary, output, lines = tmp_path / "summary.md", tmp_path / "output", []
    github.write(result, env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)},
                 out=lines.append)
    md = _utf8(summary)
    _no_markup_of_theirs(md, ["## Lab 6 autograder: 13 / 35"])
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 4 and all(len(_cells(row)) == 3 for row in rows), rows
    assert all(line.startswith("> ") for line in md.splitlines()[len(rows) + 5:] if line), "notes stay quotes"
    shown = _rendered(md)
    if shown is not None:
        assert not re.search(r"<(a|img|script|pre|em|strong|del)\b", shown), "rendered: no markup of theirs"
        assert re.findall(r"<h\d>", shown) == ["<h2>"] and re.findall(r"<code>(.*?)</code>", shown) == \
            ["kl_analytic", "warmup"], "only the grader's heading and code"
        assert [len(re.findall(r"<t[dh]\b", tr)) for tr in re.findall(r"<tr>.*?</tr>", shown, re.S)] == [3] * 3
    payload = json.loads(base64.b64decode(_utf8(output).split("=", 1)[1]))
    assert sum(t["score"] for t in payload["tests"]) == 13 and payload["tests"][2]["message"] == text.clean(s)
    assert len(lines) == 2 and all(line.startswith("::error title=") for line in lines)
    assert not any(re.search("[\r\n\x00\x1b]", line) for line in lines), "one workflow command per line"


def test_the_hint_at_the_end_of_a_long_message_stays_visible():
    result = _hostile_result(HOSTILE["1 MB line"])
    assert HINT in console.table(result).splitlines()[3]
    assert HINT in github.summary_markdown(result).splitlines()[4]
    assert len(console.table(result).splitlines()[3]) <= console.WIDTH


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "utf-8"])
def test_the_console_table_prints_on_any_terminal(encoding):
    """Printed to a strict stdout (an ASCII terminal too): the table, never a UnicodeEncodeError."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from test_hostile_text import _hostile_result, ALL;"
            "from autograder.reporters import console; console.write(_hostile_result(ALL, name=ALL))")
    env = {**os.environ, "PYTHONIOENCODING": f"{encoding}:strict", "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"}
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "tests" / "autograder")], env=env,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"13/35" in proc.stdout and b"\x1b" not in proc.stdout


def test_gradescope_last_guard_keeps_valid_text():
    result = _hostile_result("".join(list(HOSTILE.values())[:-1]) * 5)
    result.checks[1].tests *= 600  # far over 1 MB before the guard
    data = gradescope.to_dict(result)
    assert len(json.dumps(data)) < 3_000_000 and all(len(t["output"]) <= 200 for t in data["tests"])
    json.dumps(data, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------------------------
# grade-all's class report from stored Results, and the LMS exports
# --------------------------------------------------------------------------------------------

NAMES = {  # student folder name -> the hostile text in their messages
    "alice": "kl_divergence(...) = -1, expected 1: the sign is flipped",
    "eve\n## NOTE TO INSTRUCTOR": HOSTILE["heading"],
    "mal|lory | 100 |": HOSTILE["table"],
    '<img src=x onerror="alert(1)">': HOSTILE["html"],
    "caf\udce9": HOSTILE["lone surrogate"],  # a folder name that is not UTF-8 (surrogateescape)
    "\x1b[31mred\ttab": HOSTILE["control"],
    "- [x](http://evil)": HOSTILE["link"],
    "bob": ALL,
}
NO_PACKAGE = "- `dave` \n# not graded"


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """grades.csv and report.md of a class whose stored Results and names are hostile."""
    out = tmp_path_factory.mktemp("grades")
    loaded = rubric_mod.load()
    expected = {}
    for i, (name, message) in enumerate(NAMES.items()):
        checks = []
        for j, check in enumerate(loaded.checks):
            status = "passed" if (i + j) % 3 else "failed"
            checks.append(CheckResult(check.id, check.title, check.points, check.visibility, [
                TestResult(check.title, check.id, check.points, status, "" if status == "passed" else message,
                           reason="passed" if status == "passed" else "wrong")]))
        result = Result(f"/collected/{name}", loaded.total, checks, output=message, notes=[message],
                        isolation="bwrap")
        reporters.write(result, "result", os.path.join(out, "students", name, "autograder-result.json"))
        expected[name] = result.score
    zero = results.nothing_to_grade(loaded, NO_PACKAGE, f"{NO_PACKAGE}: no lab6_generative/ folder found.")
    reporters.write(zero, "result", os.path.join(out, "students", NO_PACKAGE, "autograder-result.json"))
    expected[NO_PACKAGE] = 0
    students = sorted(expected)
    statuses = {name: "graded" for name in students} | {NO_PACKAGE: "no package"}
    manifest = {name: Row(name, commit="abc", minutes_late=1500) for name in students}
    class_report.write(str(out), students, loaded, statuses, manifest=manifest, written_scores={})
    return out, loaded, expected


def test_every_student_of_a_hostile_class_has_a_row_with_a_number(hostile_class):
    out, loaded, expected = hostile_class
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:  # strict UTF-8
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[:3] == ["student", "status", "score"] and header[-2:] == ["final", "reason"]
    assert len(rows) == 1 + len(expected) and all(len(row) == len(header) for row in rows)
    by_name = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert set(by_name) == {text.clean(name) for name in expected}
    for name, score in expected.items():
        row = by_name[text.clean(name)]
        assert int(row["score"]) == score and row["isolation"] == ("" if name == NO_PACKAGE else "bwrap")
        assert "\n" not in row["reason"] and row["status"] in class_report.STATUSES
        assert float(row["final"]) == max(0, score - float(row["late_penalty"] or 0)), row


def test_the_class_report_shows_hostile_text_as_text(hostile_class):
    out, loaded, _ = hostile_class
    md = _utf8(out / "report.md")
    _no_markup_of_theirs(md, [f"# Class report: {len(NAMES) + 1} of {len(NAMES) + 1} students have a score",
                              f"## Final grades (out of {loaded.final_total})", "## Not graded"])
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(loaded.checks) and all(len(_cells(row)) == 4 for row in rows), rows
    assert "eve ↵ \\#\\# NOTE TO INSTRUCTOR" in md and "&lt;img src=x" in md and "caf\ufffd" in md
    assert "\\- \\`dave\\` ↵ \\# not graded (no package)" in md
    shown = _rendered(md)
    if shown is not None:
        assert not re.search(r"<(script|a|code|em|strong|pre|h[3-6])\b", shown), "rendered: no markup of theirs"
        assert re.findall(r"<img\b[^>]*>", shown) == ['<img src="scores.png" alt="score histogram" />',
                                                      '<img src="checks.png" alt="pass rate per check" />']
        assert re.findall(r"<h\d>", shown) == ["<h1>", "<h2>", "<h2>"]
        rows = re.findall(r"<tr>.*?</tr>", shown, re.S)
        assert len(rows) == 1 + len(loaded.checks) and all(len(re.findall(r"<t[dh]\b", tr)) == 4 for tr in rows)


def test_a_stored_result_with_bad_bytes_or_escaped_surrogates_still_counts(tmp_path):
    loaded = rubric_mod.load()
    first = loaded.checks[0]
    result = Result("s", loaded.total, [CheckResult(c.id, c.title, c.points, c.visibility, [
        TestResult(c.title, c.id, c.points, "failed" if c is first else "passed", "MARK",
                   reason="wrong" if c is first else "passed")]) for c in loaded.checks])
    escaped = json.dumps(results.to_dict(result)).replace("MARK", "\\udce9 <b>")  # as json.dumps(ensure_ascii) writes
    raw = escaped.encode().replace(b"\\udce9", b"\xe9\xff")                       # not UTF-8 at all
    for name, content in (("escaped", escaped.encode()), ("raw", raw)):
        path = tmp_path / "students" / name / "autograder-result.json"
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
    class_report.write(str(tmp_path), ["escaped", "raw"], loaded, {"escaped": "graded", "raw": "graded"})
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["escaped"]["score"] == rows["raw"]["score"] == str(loaded.total - first.points)
    assert "&lt;b&gt;" in _utf8(tmp_path / "report.md")


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_the_lms_export_gives_every_hostile_student_their_grade(hostile_class, tmp_path, lms):
    out, loaded, expected = hostile_class
    roster = io.StringIO(newline="")
    writer = csv.writer(roster)
    writer.writerow(["student", "name", "email", "sis_id", "canvas_id"])
    named = [name for name in expected if text.clean(name) == name]  # a roster is UTF-8: no undecodable names
    for i, name in enumerate(named):
        writer.writerow([name, name, f"s{i}@uni.edu", f"S{i}", str(1000 + i)])
    (tmp_path / "roster.csv").write_text(roster.getvalue(), encoding="utf-8", newline="")
    args = types.SimpleNamespace(grades=str(out), roster=str(tmp_path / "roster.csv"), format=lms,
                                 title="Lab 6 <b>|", out=str(tmp_path / f"{lms}.csv"), rubric=None)
    assert export_cli.run_export(args) == 0
    with open(tmp_path / f"{lms}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    body = rows[2:] if lms == "canvas" else rows[1:]
    assert len(body) == len(named) and all(len(row) == len(rows[0]) for row in rows)
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        finals = {row["student"]: row["final"] for row in csv.DictReader(f)}
    for i, name in enumerate(named):
        assert body[i][-1] == finals[name] != "", f"{name!r} has their grade"
