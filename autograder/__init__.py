"""The Lab 6 autograder: grading.yml + a submission -> engine -> result model -> reporters.

    from autograder import grade
    result = grade("solutions")        # a results.Result; see engine.grade

Folders by concern: ``grading/`` (one submission: the engine, the pool of
grading processes, the worker seen from the grader, its messages and the
trust boundary for its replies, and what runs inside the box),
``sandbox/`` (isolation of student code and the reader of student files),
``checks/`` (one pytest file per rubric check), ``reporters/`` (one per
output format, registered by name), ``semester/`` (a class: grade-all,
collect, late work, written answers, final grades, exports, feedback) and
``audit/`` (mutation testing of the checks).  Shared by all: rubric
(grading.yml), results (the Result and its stored form), errors, text,
files, facts, submission, cli (python -m autograder).

This file stays import-free: the worker imports the package too.
"""


def __getattr__(name):
    if name == "grade":
        from autograder.grading.engine import grade

        return grade
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
