"""The audit: mutation testing of the autograder's checks (python -m autograder audit)."""
