"""nbgrader configuration of Lab 6 (the one place the release and grading settings live).

``make release`` (``python -m release.build``) loads this file, stages
``solutions/`` as ``source/lab6/`` of a temporary nbgrader course directory
(with a copy of this file), runs nbgrader's ``generate_assignment`` there and
copies ``release/lab6/`` to ``assignment/``.  The ``.py`` modules go through the
same ``ClearSolutions`` (and ``ClearHiddenTests``) settings as the notebook.

To grade with nbgrader, keep the staged course directory
(``python -m release.build --course-dir course``), put submissions into
``course/submitted/<student>/lab6/`` and run ``nbgrader autograde lab6`` in it.
"""

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "lab6-vae"

# Never copied into the release (nor from a submission into the autograded
# folder): caches, data, run outputs, and instructor-only material.  Globs are
# matched against each file or folder name, at any depth, by nbgrader itself.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".hypothesis",
    "*.egg-info",
    ".DS_Store",
    ".data",              # Fashion-MNIST: students download it or get it from the course
    "outputs",            # pictures, histories and weights written by training runs
    "feedback",
    "hidden_tests",       # grading-only tests
    "instructor*",        # instructor_notes.md, instructor/ ...
    "INSTRUCTOR*",
    "*.instructor.*",     # e.g. vae.instructor.md next to the file it is about
]

# Solution regions (in notebook cells and, through release/build.py, in .py
# files) are replaced by the stub at the indentation of the BEGIN line.
c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearHiddenTests.begin_test_delimeter = "BEGIN HIDDEN TESTS"
c.ClearHiddenTests.end_test_delimeter = "END HIDDEN TESTS"

# Students submit the notebook *and* the two modules they implement.  By
# default autograde copies every non-notebook file of the source over the
# submission; these two must stay the student's (every other file, the rest of
# lab6_generative/ and the public tests, is restored to the instructor's).
c.Autograde.exclude_overwriting = {
    "lab6": [
        "lab6_generative/vae.py",
        "lab6_generative/schedules.py",
    ],
}

# Training cells take a while on real data (the notebook trains briefly when
# nbgrader runs it, see its first code cell); a cell still stuck after 10
# minutes is an infinite loop.
c.Execute.timeout = 600
