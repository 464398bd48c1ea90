"""The checks: one pytest file per rubric check (test_<id>.py), run by autograder.grading.engine."""
