"""The Lab 6 autograder: grading.yml + a submission -> engine -> result model -> reporters."""
