"""The class report of ``grade-all``: grades.csv, report.md, scores.png, checks.png.

Reads each student's stored Result (``students/<name>/autograder-result.json``,
see ``results.to_dict``) and answers the instructor's three
questions: what did each student get (grades.csv), how is the class doing
(score histogram, per-check pass rates), and which mistakes did the class make
(the most common failure messages per check, with numbers masked so that the
same mistake on different inputs counts once).

grades.csv says of each student what happened (``status``: graded, late,
missing, no package, refused, internal error, grader failed) and why
(``reason``: the manifest's problem, the limit, the internal error, the
lateness).  Only students with a score are counted in the mean, the pass
rates and the histogram: a missing student (on collect's manifest, nothing
collected) has a 0 in grades.csv but is listed apart, with the manifest's
reason; no isolation is claimed for a row whose code nobody ran.

Student names (folder names: anything but "/" and NUL, undecodable bytes
included), failure messages and reasons (from the manifest, which collect wrote
from git's output) are hostile text: grades.csv holds them ``text.clean``
(reasons ``text.one_line``; valid UTF-8, control characters made visible; the
csv module quotes the rest), report.md ``text.markdown`` (no HTML, no Markdown
of their own, never a line of their own).  Both files are written as UTF-8.
"""
import collections
import csv
import io
import math
import os
import re

from autograder import facts
from autograder.errors import UsageError
from autograder.files import write_text
from autograder.semester import final_grades
from autograder.facts import PACKAGE
from autograder.text import clean, markdown, one_line

TOP_MESSAGES = 3


def student_points(result_path, rubric):
    """({check id: points}, failures, isolation) for one student; points None when there is no Result."""
    result = _stored(result_path)
    if result is None:
        return None, [], ""
    return _points(result, rubric) + (clean(result.isolation, 40),)


def _stored(result_path):
    """The stored Result at ``result_path``, or None when there is none (or it cannot be read)."""
    from autograder.reporters import result as stored

    try:
        return stored.read(result_path)
    except (OSError, ValueError):
        return None


def _points(result, rubric):
    """({check id: points}, [(check id, failure message)]) of a stored Result."""
    by_id = {check.id: check for check in result.checks}
    points = {check.id: (by_id[check.id].score if check.id in by_id else 0) for check in rubric.checks}
    failures = [(check.id, test.message) for check in result.checks if check.id in points
                for test in check.tests if test.status != "passed" and test.message]
    return points, failures


def mistake(message):
    """The first line of a failure message with its data masked: one mistake, many inputs.

    Lists of values become ``[…]`` and measured numbers (decimals, line
    numbers) ``#``; constants of the formulas such as ``0.5`` in
    ``exp(0.5 * logvar)`` stay.
    """
    text = clean(message).strip()
    first = text.split("\n")[0] if text else ""
    first = re.sub(r"\[[^\]]*\]", "[…]", first)
    first = re.sub(r"line \d+", "line #", first)
    first = re.sub(r"(?<![\w.])-?\d+\.\d{2,}(e[-+]?\d+)?|(?<![\w.])-?\d+e[-+]?\d+", "#", first)
    return clean(first, 300)  # cut in the middle: the hint at the end stays


# grades.csv's status column.  grade-all's statuses ("graded", "unchanged", "missing" or "not collected",
# "no package", "refused", "internal error", "grader failed") become: graded (or late, when collect's
# manifest says the graded commit came after the deadline and its grace period), missing, no package,
# refused, internal error, grader failed.
STATUSES = ("graded", "late", "missing", "no package", "refused", "internal error", "grader failed")
SCORED = ("graded", "late", "no package", "refused")   # have a score: in the mean, pass rates, histogram
CODE_RAN = ("graded", "late")                          # student code ran: the row names its isolation
NO_SCORE = ("internal error", "grader failed")         # an empty row, graded again by the next run
# What the end of the report says of each student without a graded submission.
CONSEQUENCES = {"missing": "score 0, not counted above",
                "no package": "score 0",
                "refused": "score 0 (nothing of it was run)",
                "internal error": "no score yet (an empty row), graded again by the next run",
                "grader failed": "no score yet (an empty row), graded again by the next run"}
REASON_LIMIT = 300

# grades.csv's columns by name, as written here and read by export and feedback: LEADING, one column per
# rubric check (its id), ISOLATION, then final_grades.extra_header's (WRITTEN ... FINAL) when known, REASON.
STUDENT, STATUS, SCORE, ISOLATION, REASON = "student", "status", "score", "isolation", "reason"
LEADING = (STUDENT, STATUS, SCORE)
WRITTEN, WRITTEN_STATUS, MINUTES_LATE, LATE_PENALTY, FINAL = final_grades.EXTRA_COLUMNS
NO_PACKAGE_REASON = f"no {PACKAGE}/ folder in the submission (at the top or one folder down)"


def _status(run_status, result):
    """grades.csv's status of one student (before lateness) from grade-all's status and the stored Result."""
    if run_status in ("missing", "not collected"):
        return "missing"
    if run_status in ("no package", "refused") + NO_SCORE:
        return run_status
    return "graded" if result is not None else "grader failed"


def _reason(status, name, given, result, manifest):
    """Why a student's row is not a plain graded one: grade-all's reason, else the manifest's or the Result's."""
    if given:
        return given
    if status == "missing":
        return final_grades.missing_reason(manifest.get(name) if manifest else None)
    if status == "grader failed":
        return ("no stored result" if result is None else "the grading process failed or timed out") \
            + f": see students/{name}/grader.log"
    if status == "internal error" and result is not None and result.internal_errors:
        return str(result.internal_errors[0])
    if status == "no package":
        return NO_PACKAGE_REASON
    if result is not None and result.notes:
        return result.notes[0]
    return ""


def _late_reason(rubric, final):
    """'2 days late: -20', and what the penalty took when the grade could not lose all of it."""
    if not rubric.late:
        return f"{final.minutes_late:g} minutes late (no late: policy in the rubric, no penalty)"
    nominal = rubric.late.penalty(math.inf, final.minutes_late)
    if final.final is not None and math.isfinite(nominal) and final.penalty < nominal:
        return f"{final.late} (took {final.penalty:g}: a grade is never below 0)"
    return final.late


def write(out_dir, students, rubric, statuses, manifest=None, written_scores=None, reasons=None, results=None):
    """Write grades.csv, report.md, scores.png and checks.png; return summary numbers.

    ``results`` holds the Results of this run by student (the others are read from their stored
    form, ``students/<name>/autograder-result.json``).  ``statuses`` and ``reasons`` are grade-all's, by student (a student without a status is
    graded when a stored Result exists).  ``manifest`` (collect's rows by student) and
    ``written_scores`` (by student, from nbgrader's gradebook) add the final-grade columns of
    ``final_grades.extra_header``: written points, lateness, penalty, final.

    Only students with a score (graded, late, and the zeros of no package and refused) are in
    the mean, the pass rates and the histogram; missing students (nothing collected: a 0 in
    grades.csv) and those the grader failed on (an empty row) are listed apart, with the reason.
    """
    reasons = reasons or {}
    passed = collections.Counter()        # check id -> students with full points
    messages = collections.defaultdict(collections.Counter)
    isolations = collections.Counter()
    state, stored, points_of, isolation_of, autograded = {}, {}, {}, {}, {}
    for name in students:
        result = stored[name] = (results or {}).get(name) or \
            _stored(os.path.join(out_dir, "students", name, facts.RESULT_FILE))
        status = _status(statuses.get(name), result)
        state[name] = status
        points, failures = _points(result, rubric) if result is not None else (None, [])
        if status not in CODE_RAN:
            failures = []  # not a mistake in the lab: listed apart at the end of the report
            # an empty row for the grader's failures; a zero nobody's code earned for the others
            points = None if status in NO_SCORE else (points or {c.id: 0 for c in rubric.checks})
        points_of[name] = points
        autograded[name] = sum(points.values()) if points is not None else None
        isolation_of[name] = clean(result.isolation, 40) if status in CODE_RAN else ""
        if status in CODE_RAN:
            isolations[isolation_of[name] or "-"] += 1
        if status in SCORED:
            for check in rubric.checks:
                passed[check.id] += points[check.id] == check.points
        seen = set()
        for check_id, text in failures:
            key = (check_id, mistake(text))
            if key not in seen:  # count each mistake once per student
                seen.add(key)
                messages[check_id][key[1]] += 1

    finals = final_grades.combine(rubric, autograded, manifest, written_scores)
    grace = rubric.late.grace_minutes if rubric.late else 0
    why = {}
    for name in students:
        final = finals[name]
        if state[name] == "graded" and final.minutes_late is not None and final.minutes_late > grace:
            state[name] = "late"
            why[name] = _late_reason(rubric, final)
        elif state[name] not in CODE_RAN:
            why[name] = _reason(state[name], name, reasons.get(name), stored[name], manifest)
    counted = [name for name in students if state[name] in SCORED]
    totals = [autograded[name] for name in counted]
    graded = sum(state[name] in CODE_RAN for name in students)

    extra = final_grades.extra_header(rubric, manifest, written_scores)
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(list(LEADING) + [c.id for c in rubric.checks] + [ISOLATION] + extra + [REASON])
    for name in students:
        points = points_of[name]
        cells = [autograded[name] if points is not None else ""]
        cells += [points[c.id] if points is not None else "" for c in rubric.checks]
        writer.writerow([clean(name), state[name]] + cells + [isolation_of[name]]
                        + final_grades.extra_cells(finals[name], extra) + [one_line(why.get(name, ""), REASON_LIMIT)])
    write_text(os.path.join(out_dir, facts.GRADES_FILE), table.getvalue(), newline="")

    mean = sum(totals) / len(totals) if totals else 0.0
    _plots(out_dir, totals, rubric, passed, len(counted))
    tally = collections.Counter(state.values())
    lines = [f"# Class report: {len(counted)} of {len(students)} students have a score", "",
             "Status: " + ", ".join(f"{status} {tally[status]}" for status in STATUSES if tally[status]) + "."]
    if len(counted) < len(students):
        zeros = " (no package and refused as 0)" if tally["no package"] or tally["refused"] else ""
        lines.append(f"The figures below count the students with a score{zeros}; "
                     "the students listed at the end without one are not counted.")
    figures = (f"Mean score {mean:.1f} / {rubric.total}; median {_median(totals):.0f}; "
               f"full marks: {sum(t == rubric.total for t in totals)}." if totals
               else "No student has a score: there is no mean, median or count of full marks.")
    lines += ["", figures, "",
              "Isolation: " + (", ".join(f"{markdown(name)} ({count})" for name, count in sorted(isolations.items()))
                               or "- (no student code was run)") + ".", "",
              "![score histogram](scores.png) ![pass rate per check](checks.png)", "",
              "| check | points | students with full points | most common mistakes (students) |",
              "|---|---|---|---|"]
    for check in rubric.checks:
        rate = f"{passed[check.id]} ({100 * passed[check.id] / len(counted):.0f}%)" if counted else "-"
        common = "<br>".join(f"{markdown(text)} ({count})" for text, count in
                             messages[check.id].most_common(TOP_MESSAGES)) or "-"
        lines.append(f"| {check.id} | {check.points} | {rate} | {common} |")
    lines += _semester_lines(rubric, finals, manifest, written_scores, state, why)
    apart = [name for name in students if state[name] not in CODE_RAN]
    if apart:
        lines += ["", "## Not graded", ""]
        lines += [f"- {markdown(name)} ({state[name]}): "
                  f"{markdown(one_line(why.get(name), REASON_LIMIT).rstrip('. ') or '-')}; "
                  f"{CONSEQUENCES[state[name]]}." for name in apart]
    write_text(os.path.join(out_dir, facts.REPORT_FILE), "\n".join(lines) + "\n")
    return {"mean": mean, "graded": graded, "counted": len(counted), "missing": tally["missing"]}


def _semester_lines(rubric, finals, manifest, written_scores, state, why):
    """The report's part on final grades: late work, written answers still to grade.

    Missing students (``state``) have a final grade of 0 but are not in its mean, nor in the
    late or notebook lines: the report lists them apart, with the manifest's reason.
    """
    if manifest is None and written_scores is None:
        return []
    present = {name: f for name, f in finals.items() if state.get(name) != "missing"}
    have = [f.final for f in finals.values() if f.final is not None]
    done = [f.final for name, f in present.items() if f.final is not None and state.get(name) in SCORED]
    absent = len(finals) - len(present)
    lines = ["", f"## Final grades (out of {rubric.final_total if written_scores is not None else rubric.total})",
             "", f"{len(have)} of {len(finals)} students have a final grade"
             + (f" ({absent} of them missing: 0 in the LMS file)" if absent else "")
             + (f"; the mean of the {len(done)} graded: {sum(done) / len(done):.1f}" if done else "") + "."]
    late = sorted((name, why[name] if state.get(name) == "late" else f.late) for name, f in present.items()
                  if f.penalty or (f.late and f.late != "on time"))
    if manifest is not None:
        lines.append("Late: " + ("; ".join(f"{markdown(name)} ({markdown(what)})" for name, what in late)
                                 or "nobody") + ".")
        unlisted = sorted(name for name in finals if name not in manifest)
        if unlisted:
            lines.append("Not in collect's manifest (no lateness known, no penalty): "
                         + ", ".join(map(markdown, unlisted)) + ".")
    if written_scores is not None:
        waiting = sorted(name for name, f in present.items() if f.written_status == "ungraded")
        missing = sorted(name for name, f in present.items() if f.written_status == "missing")
        lines.append("Written answers still to grade in nbgrader (no final grade yet): "
                     + (", ".join(map(markdown, waiting)) or "none") + ".")
        if missing:
            lines.append("No notebook in nbgrader's gradebook (written points 0): "
                         + ", ".join(map(markdown, missing)) + ".")
    return lines


def _median(values):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _plots(out_dir, totals, rubric, passed, graded):
    """The histogram of ``totals`` and the pass rate per check, out of ``graded`` students with a score."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    ax.hist(totals, bins=range(0, rubric.total + 6, 5), color="tab:blue", edgecolor="white")
    ax.set(xlabel=f"score (of {rubric.total})", ylabel="students", title="Scores")
    fig.savefig(os.path.join(out_dir, "scores.png"), dpi=100)

    fig = Figure(figsize=(6, 3.5), layout="constrained")
    ax = fig.subplots()
    ids = [c.id for c in rubric.checks]
    rates = [100 * passed[i] / graded if graded else 0 for i in ids]
    ax.barh(ids[::-1], rates[::-1], color="tab:green")
    ax.set(xlim=(0, 100), xlabel="% of students with full points", title="Pass rate per check")
    fig.savefig(os.path.join(out_dir, "checks.png"), dpi=100)


def read_grades(grades_dir):
    """(header, {student: row}) of GRADES_DIR/grades.csv as ``write`` makes it: its columns by their names.

    UsageError, one sentence, when the file is missing or unreadable, or lacks a column of ``LEADING``
    (it is not grade-all's grades.csv).
    """
    path = os.path.join(grades_dir, facts.GRADES_FILE)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = list(reader.fieldnames or [])
    except FileNotFoundError:
        raise UsageError(f"{path} not found: run grade-all with --out {grades_dir} first") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UsageError(f"cannot read {path}: {err}") from None
    missing = [column for column in LEADING if column not in header]
    if missing:
        raise UsageError(f"{path} has no {' and no '.join(missing)} column (grade-all's grades.csv starts with "
                         f"{', '.join(LEADING)}): give grade-all's --out folder")
    return header, {row[STUDENT]: row for row in rows}
