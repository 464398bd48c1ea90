"""Moodle: the gradebook's "Import > CSV file".

Moodle reads any CSV whose first row names the columns, and asks which column
identifies the user ("Map from") and against which profile field ("Map to":
``useremail`` or ``useridnumber``), then which column feeds which grade item.
We write ``Email address`` and ``ID number`` (the names of Moodle's own
export) and one grade column titled like the grade item.  Email addresses
are compared case-sensitively, so they are written exactly as the roster
has them; an empty grade leaves the grade untouched.  A grade above the
item's maximum needs the site settings ``unlimitedgrades`` and ``gradepointmax``.

Roster columns used: ``email``, ``sis_id``; every student needs one of them.
"""
from autograder.semester.exports import lms_value, require, write_csv
from autograder.text import number


def write(rows, path, title, points_possible):
    require(rows, "Moodle", ("email", "sis_id"))
    body = [[lms_value(row, "email"), lms_value(row, "sis_id"), number(row.grade)] for row in rows]
    write_csv(path, ["Email address", "ID number", title], body)
