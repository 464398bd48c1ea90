"""The Lab 6 autograder: grading.yml + a submission -> engine -> result model -> reporters.

    from autograder import grade
    result = grade("solutions")        # a results.Result; see engine.grade

Modules: rubric (grading.yml), submission (where the package is), engine
(pytest over the checks), session and worker (the isolated process that runs
student code), wire (its messages), student, probes and worker_main (what runs
inside that process), errors, results (the Result and its stored form),
reporters/ (one per platform, registered by name), checks/ (one pytest file
per rubric check), cli (python -m autograder), grade_all, resume and
class_report (a class), fakedata (the grader's own training images).

This file stays import-free: the worker imports the package too.
"""


def __getattr__(name):
    if name == "grade":
        from autograder.grading.engine import grade

        return grade
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
