"""The class report of ``grade-all``: grades.csv, report.md, scores.png, checks.png.

Reads each student's stored Result (``students/<name>/autograder-result.json``,
see ``results.to_dict``) and answers the instructor's three
questions: what did each student get (grades.csv), how is the class doing
(score histogram, per-check pass rates), and which mistakes did the class make
(the most common failure messages per check, with numbers masked so that the
same mistake on different inputs counts once).

Student names (folder names: anything but "/" and NUL, undecodable bytes
included) and failure messages are the students' text: grades.csv holds them
``text.clean`` (valid UTF-8, control characters made visible; the csv module
quotes the rest), report.md ``text.markdown`` (no HTML, no Markdown of their
own, never a line of their own).  Both files are written as UTF-8.
"""
import collections
import csv
import io
import os
import re

from .text import clean, markdown

TOP_MESSAGES = 3


def student_points(result_path, rubric):
    """({check id: points}, failures, isolation) for one student; points None when there is no Result."""
    from .reporters import result as stored

    try:
        result = stored.read(result_path)
    except (OSError, ValueError):
        return None, [], ""
    by_id = {check.id: check for check in result.checks}
    points = {check.id: (by_id[check.id].score if check.id in by_id else 0) for check in rubric.checks}
    failures = [(check.id, test.message) for check in result.checks if check.id in points
                for test in check.tests if test.status != "passed" and test.message]
    return points, failures, clean(result.isolation, 40)


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


def write(out_dir, students, rubric, statuses, manifest=None, written_scores=None):
    """Write grades.csv, report.md, scores.png and checks.png; return summary numbers.

    ``manifest`` (collect's rows by student) and ``written_scores`` (by
    student, from nbgrader's gradebook) add the final-grade columns of
    ``gradebook.extra_header``: written points, lateness, penalty, final.
    """
    from . import gradebook, reporters

    rows, totals = [], []
    autograded = {}
    passed = collections.Counter()        # check id -> students with full points
    messages = collections.defaultdict(collections.Counter)
    graded = 0
    isolations = collections.Counter()
    for name in students:
        points, failures, isolation = student_points(
            os.path.join(out_dir, "students", name, "autograder-result.json"), rubric)
        if statuses.get(name) in ("no package", "not collected", "refused"):
            failures = []  # not a mistake in the lab: listed apart at the end of the report
        if points is None or statuses.get(name) in ("grader failed", "internal error"):
            rows.append([name, ""] + [""] * len(rubric.checks) + [""])
            autograded[name] = None
            continue
        graded += 1
        total = sum(points.values())
        autograded[name] = total
        totals.append(total)
        isolations[isolation or "-"] += 1
        rows.append([name, total] + [points[c.id] for c in rubric.checks] + [isolation])
        for check in rubric.checks:
            passed[check.id] += points[check.id] == check.points
        seen = set()
        for check_id, text in failures:
            key = (check_id, mistake(text))
            if key not in seen:  # count each mistake once per student
                seen.add(key)
                messages[check_id][key[1]] += 1

    extra = gradebook.extra_header(rubric, manifest, written_scores)
    finals = gradebook.combine(rubric, autograded, manifest, written_scores)
    rows = [row + gradebook.extra_cells(finals[row[0]], extra) for row in rows]
    table = io.StringIO(newline="")
    writer = csv.writer(table)
    writer.writerow(["student", "score"] + [c.id for c in rubric.checks] + ["isolation"] + extra)
    writer.writerows([[clean(row[0])] + row[1:] for row in rows])
    reporters.write_text(os.path.join(out_dir, "grades.csv"), table.getvalue(), newline="")

    mean = sum(totals) / len(totals) if totals else 0.0
    _plots(out_dir, totals, rubric, passed, graded)
    lines = [f"# Class report: {graded} of {len(students)} submissions graded", "",
             f"Mean score {mean:.1f} / {rubric.total}; median {_median(totals):.0f}; "
             f"full marks: {sum(t == rubric.total for t in totals)}.", "",
             "Isolation: " + (", ".join(f"{markdown(name)} ({count})" for name, count in sorted(isolations.items()))
                              or "-") + ".", "",
             "![score histogram](scores.png) ![pass rate per check](checks.png)", "",
             "| check | points | students with full points | most common mistakes (students) |",
             "|---|---|---|---|"]
    for check in rubric.checks:
        rate = f"{passed[check.id]} ({100 * passed[check.id] / graded:.0f}%)" if graded else "-"
        common = "<br>".join(f"{markdown(text)} ({count})" for text, count in
                             messages[check.id].most_common(TOP_MESSAGES)) or "-"
        lines.append(f"| {check.id} | {check.points} | {rate} | {common} |")
    lines += _semester_lines(rubric, finals, manifest, written_scores)
    not_graded = [name for name in students
                  if statuses.get(name) in ("no package", "not collected", "refused", "grader failed",
                                            "internal error")]
    if not_graded:
        lines += ["", "Not graded or no package found: " + ", ".join(
            f"{markdown(name)} ({statuses[name]})" for name in not_graded) + "."]
    reporters.write_text(os.path.join(out_dir, "report.md"), "\n".join(lines) + "\n")
    return {"mean": mean, "graded": graded}


def _semester_lines(rubric, finals, manifest, written_scores):
    """The report's part on final grades: late work, written answers still to grade."""
    if manifest is None and written_scores is None:
        return []
    done = [f.final for f in finals.values() if f.final is not None]
    lines = ["", f"## Final grades (out of {rubric.final_total if written_scores is not None else rubric.total})",
             "", f"{len(done)} of {len(finals)} students have a final grade"
             + (f"; mean {sum(done) / len(done):.1f}" if done else "") + "."]
    late = sorted((name, f.late) for name, f in finals.items() if f.penalty or (f.late and f.late != "on time"))
    if manifest is not None:
        lines.append("Late: " + ("; ".join(f"{markdown(name)} ({what})" for name, what in late) or "nobody") + ".")
        unlisted = sorted(name for name in finals if name not in manifest)
        if unlisted:
            lines.append("Not in collect's manifest (no lateness known, no penalty): "
                         + ", ".join(map(markdown, unlisted)) + ".")
    if written_scores is not None:
        waiting = sorted(name for name, f in finals.items() if f.written_status == "ungraded")
        missing = sorted(name for name, f in finals.items() if f.written_status == "missing")
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
