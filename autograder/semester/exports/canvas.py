"""Canvas: the Gradebook's CSV import (Grades > Import).

Canvas reads the columns of its own Gradebook export: ``Student``, ``ID``
(Canvas's user id), ``SIS User ID``, ``SIS Login ID``, ``Section``, then one
column per assignment.  It matches a row to a student by ``ID``, else ``SIS
User ID``, else ``SIS Login ID``; an assignment column whose name is new
creates that assignment, and a ``Points Possible`` row under the header
sets its points.  Blank cells leave a grade untouched.

Roster columns used: ``name`` (else the student's folder name), ``canvas_id``,
``sis_id``, ``sis_login_id`` (else ``login``), ``section``; every student
needs ``canvas_id``, ``sis_id`` or ``sis_login_id``.
"""
from autograder.semester.exports import lms_value, require, write_csv
from autograder.text import number

HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
IDENTIFIERS = ("canvas_id", "sis_id", "sis_login_id", "login")


def write(rows, path, title, points_possible):
    require(rows, "Canvas", IDENTIFIERS)
    body = [["Points Possible", "", "", "", "", number(points_possible)]]
    for row in rows:
        body.append([lms_value(row, "name") or row.student, lms_value(row, "canvas_id"), lms_value(row, "sis_id"),
                     lms_value(row, "sis_login_id", "login"), lms_value(row, "section"), number(row.grade)])
    write_csv(path, list(HEADER) + [title], body)
