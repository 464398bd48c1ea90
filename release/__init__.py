"""Building the student release (assignment/) from the reference (solutions/)."""
