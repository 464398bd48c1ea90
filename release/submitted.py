"""Lay collected repositories out as nbgrader submissions: collected/<student>/ -> COURSE/submitted/<student>/lab6/.

    python -m release.submitted collected/ --course-dir course [--assignment lab6]

Copies what nbgrader grades (the notebooks and the package, the files of the
release) from each student's collected repository, never the repository's
machinery (.git, .github, .grader, ci/), and writes nbgrader's
``timestamp.txt`` from collect's ``manifest.csv`` (the push time) when there is
one.  Then, in the course folder: ``nbgrader autograde lab6``, and the written
answers in formgrader.  Exit status 2 with one line for bad arguments.
"""
import argparse
import csv
import os
import shutil
import sys

SKIP = {".git", ".github", ".grader", ".grader-private", "ci", "__pycache__", ".ipynb_checkpoints", "outputs",
        ".data", ".venv"}


def lay_out(collected, course_dir, assignment="lab6"):
    """Copy every student folder of ``collected`` into ``course_dir/submitted``; return the student names."""
    pushed = {}
    manifest = os.path.join(collected, "manifest.csv")
    if os.path.isfile(manifest):
        with open(manifest, newline="", encoding="utf-8") as f:
            pushed = {row["student"]: row.get("pushed_at", "") for row in csv.DictReader(f) if row.get("student")}
    students = sorted(d for d in os.listdir(collected)
                      if os.path.isdir(os.path.join(collected, d)) and not d.startswith("."))
    for student in students:
        target = os.path.join(course_dir, "submitted", student, assignment)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(os.path.join(collected, student), target, symlinks=True,
                        ignore=lambda folder, names: {n for n in names if n in SKIP or n.endswith(".pyc")})
        if pushed.get(student):
            with open(os.path.join(target, "timestamp.txt"), "w") as f:
                f.write(pushed[student].replace("T", " ") + "\n")
    return students


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m release.submitted", description=__doc__.splitlines()[0])
    parser.add_argument("collected", help="collect's --out folder: one folder per student")
    parser.add_argument("--course-dir", required=True, help="the nbgrader course folder (python -m release.build "
                                                            "--course-dir DIR makes one)")
    parser.add_argument("--assignment", default="lab6")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.collected):
        print(f"error: {args.collected} is not a folder", file=sys.stderr)
        return 2
    if not os.path.isdir(os.path.join(args.course_dir, "source", args.assignment)):
        print(f"error: {args.course_dir} has no source/{args.assignment}/: make it with "
              f"`python -m release.build --course-dir {args.course_dir}`", file=sys.stderr)
        return 2
    students = lay_out(args.collected, args.course_dir, args.assignment)
    print(f"{len(students)} submissions in {os.path.join(args.course_dir, 'submitted')}/<student>/{args.assignment}/; "
          f"now: cd {args.course_dir} && nbgrader autograde {args.assignment}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
