"""What every part of the autograder agrees on, each fact in one place.

Plain constants, importing nothing of the grader's: any module may use them
(the worker's modules inside the box excepted: the box holds only the files
``sandbox.WORKER_MODULES`` lists, so ``grading/student.py`` keeps its own copy
of the package name).

In the instructor's checkout ``ROOT`` is the course repository; in a grader
shipped to a platform it is the folder that holds ``autograder/`` and
``grading.yml`` (``.grader/`` of the student template, Gradescope's
``source/``).
"""
import os

PACKAGE = "lab6_generative"          # the lab's package: what a submission holds, what the box imports

GRADER_DIR = os.path.dirname(os.path.abspath(__file__))      # the autograder package
ROOT = os.path.dirname(GRADER_DIR)                           # the course repository (or a shipped grader's top)
RUBRIC_FILE = os.path.join(ROOT, "grading.yml")
SOLUTIONS_DIR = os.path.join(ROOT, "solutions")              # the instructor's reference (never shipped)
ASSIGNMENT_DIR = os.path.join(ROOT, "assignment")            # the student release

# The hypothesis release the checks' examples are drawn with (pyproject.toml pins the same one; a test
# checks they agree).  A grade under another release notes it (grading.engine.version_note).
HYPOTHESIS_VERSION = "6.168.5"

# Files the commands write and read back.
RESULT_FILE = "autograder-result.json"   # a stored Result: reporter `result`'s default, grade-all's students/<name>/
GRADESCOPE_FILE = "results.json"         # Gradescope's results (reporter `gradescope`'s default)
CLASSROOM50_FILE = "result.json"         # Classroom 50's result (reporter `classroom50`'s default)
GRADES_FILE = "grades.csv"               # grade-all's class table (class_report writes it; export, feedback read it)
REPORT_FILE = "report.md"                # grade-all's class report
MANIFEST_FILE = "manifest.csv"           # collect's record of what it collected (semester/manifest.py)

# Environment variables the grader reads.
SANDBOX_VAR = "AUTOGRADER_SANDBOX"           # the isolation mechanism (auto, bwrap, landlock, none)
WORKER_USER_VAR = "AUTOGRADER_WORKER_USER"   # the account the worker runs as when the grader is root
