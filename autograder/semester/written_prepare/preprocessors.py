"""nbgrader preprocessors of ``written``: grade without running anything, show student text as text.

``AUTOGRADE_PREPROCESSORS`` replaces nbgrader's ``Autograde.autograde_preprocessors``
(``Execute``, ``IgnorePattern``, ``ClearMetadataPreprocessor``, ``LimitOutput``,
``SaveAutoGrades``, ``AssignLatePenalties``, ``CheckCellMetadata``) for a course
folder prepared by ``python -m autograder written``: the same steps without
``Execute`` (no kernel is started, no cell is run), and two of ours:

``CodeNotRunHere`` (before ``SaveAutoGrades``): nbgrader scores a test cell by
its output (no error: full points), and unexecuted cells have none, so every
autograded code cell gets one line on stderr saying that the code is graded by
``grade-all``: 0 points in nbgrader, never a student's code credited unrun.

``SANITIZE_PREPROCESSORS`` is nbgrader's first pass (``ClearOutput``,
``DeduplicateIds``, ``OverwriteKernelspec``, ``OverwriteCells``,
``CheckCellMetadata``) with ``MetadataFromGradebook`` before ``DeduplicateIds``:
every cell's nbgrader metadata is replaced by the released cell's, from the
gradebook, and a cell whose metadata names a cell the gradebook does not know
(a student's invented ``grade_id``, which the formgrader would print
unescaped), a second copy of a graded cell, or a malformed entry becomes a
plain cell.  nbgrader itself would stop on each of these ("the nbgrader
metadata may be corrupted", "old version of the nbgrader metadata format")
and leave the student out of the gradebook.  ``PutBackMissingCells``
(after ``OverwriteCells``) puts a graded cell the student deleted back,
unanswered, after the cell that preceded it in the source, so that it scores
0 by itself and the formgrader still shows a score box for it (nbgrader's own
``OverwriteCells.add_missing_cells`` fails on this notebook: it looks for the
locked prompt cells among the graded ones).

``SafeForFormgrader`` (after ``SaveAutoGrades``, on the copy the formgrader
shows): the formgrader renders each markdown cell through ``markdown2html``
without sanitizing (``HTMLExporter.sanitize_html`` does not reach its
template), inside the Jupyter server's origin, where a script can use the
instructor's session (kernels, terminals, files).  So every markdown or raw
cell that is not the instructor's own text (a cell of the release notebook,
verbatim) is shown as text: a fenced code block longer than any run of
backticks in it, which the Markdown renderer HTML-escapes.  Attachments, cell
metadata other than nbgrader's, and notebook metadata other than the kernel
(e.g. widget state) are dropped.  Scores are saved before this step, so they
are computed on what the student wrote.

The names are strings so that the course's ``nbgrader_config.py`` can list
them too (nbconvert imports them when nbgrader's autograde runs there).
"""
import contextlib
import os

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

NOT_RUN = ("Not run here: the code of this notebook is graded by `python -m autograder grade-all` in the "
           "sandbox, so nbgrader gives this cell 0 points.\n")

SANITIZE_PREPROCESSORS = [
    "nbgrader.preprocessors.ClearOutput",
    "autograder.semester.written_prepare.preprocessors.MetadataFromGradebook",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "autograder.semester.written_prepare.preprocessors.PutBackMissingCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
AUTOGRADE_PREPROCESSORS = [
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "autograder.semester.written_prepare.preprocessors.CodeNotRunHere",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "autograder.semester.written_prepare.preprocessors.SafeForFormgrader",
    "nbgrader.preprocessors.CheckCellMetadata",
]


def _is_grade(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def _is_solution(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def as_text(source):
    """Markdown that shows ``source`` literally: a fenced code block no line of ``source`` can close."""
    longest, run = 0, 0
    for char in source:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{source}\n{fence}"


def nbgrader_metadata(notebook, name):
    """The nbgrader metadata of cell ``name`` as released, from the gradebook's ``notebook`` (api.Notebook)."""
    source = {cell.name: cell for cell in notebook.source_cells}[name]
    graded = {cell.name: cell.max_score for cell in notebook.grade_cells}
    meta = {"grade": name in graded, "grade_id": name, "locked": bool(source.locked), "checksum": source.checksum,
            "cell_type": source.cell_type, "solution": name in {cell.name for cell in notebook.solution_cells},
            "task": name in {cell.name for cell in notebook.task_cells}, "schema_version": 3}
    if name in graded:
        meta["points"] = float(graded[name])
    return meta


@contextlib.contextmanager
def _released_notebook(resources):
    """The gradebook's record of the released notebook being converted (None if it has none), while
    the gradebook is open (its cells are read from the database)."""
    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gb:
        try:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
        except MissingEntry:
            notebook = None
        yield notebook


class MetadataFromGradebook(NbGraderPreprocessor):
    """Every cell's nbgrader metadata as released (from the gradebook), or none.

    A cell claiming a ``grade_id`` the gradebook knows gets that cell's
    metadata from the gradebook, whatever the student's copy says (a damaged
    ``schema_version``, other points); of several claiming the same id the
    last keeps it (as nbgrader's ``DeduplicateIds`` does); any other cell with
    nbgrader metadata (an invented id, a copy, a malformed entry) becomes a
    plain cell.
    """

    def preprocess(self, nb, resources):
        with _released_notebook(resources) as notebook:
            if notebook is None:
                return nb, resources
            known = {cell.name: nbgrader_metadata(notebook, cell.name) for cell in notebook.source_cells}
        seen = set()
        for cell in reversed(nb.cells):
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            name = meta.get("grade_id") if isinstance(meta, dict) else None
            if isinstance(name, str) and name in known and name not in seen:
                seen.add(name)
                cell.metadata["nbgrader"] = dict(known[name])
            else:
                self.log.warning("A cell claims to be nbgrader's %r: it becomes a plain cell",
                                 name if isinstance(name, str) else None)
                del cell.metadata["nbgrader"]
        return nb, resources


class PutBackMissingCells(NbGraderPreprocessor):
    """Graded cells missing from the submission, back as they were released (unanswered: 0 points)."""

    def preprocess(self, nb, resources):
        with _released_notebook(resources) as notebook:
            if notebook is None:
                return nb, resources
            order = [cell.name for cell in notebook.source_cells]
            sources = {cell.name: cell for cell in notebook.source_cells}
            missing = {cell.name: nbgrader_metadata(notebook, cell.name) for cell in notebook.grade_cells
                       if cell.name in sources}
        present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
        for name in sorted(set(missing) - present, key=order.index):
            source = sources[name]
            cell = (nbformat.v4.new_code_cell(source.source) if source.cell_type == "code"
                    else nbformat.v4.new_markdown_cell(source.source))
            if not nb.get("nbformat_minor", 5) >= 5:
                cell.pop("id", None)
            cell.metadata["nbgrader"] = missing[name]
            before = order[:order.index(name)]
            ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
            at = max((ids.index(prev) + 1 for prev in before if prev in ids), default=len(nb.cells))
            nb.cells.insert(at, cell)
            self.log.warning("Cell %s was missing from the submission: put back unanswered", name)
        return nb, resources


class CodeNotRunHere(NbGraderPreprocessor):
    """Autograded code cells: a "not run here" line on stderr, so nbgrader scores them 0."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "code" and _is_grade(cell) and not _is_solution(cell):
                cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=NOT_RUN)]
                cell.execution_count = None
        return nb, resources


class SafeForFormgrader(NbGraderPreprocessor):
    """Student markdown and raw cells as literal text; no attachments, no metadata but nbgrader's and the kernel."""

    def preprocess(self, nb, resources):
        trusted = _instructor_markdown(resources["nbgrader"])
        for cell in nb.cells:
            if "nbgrader" in cell.metadata:
                cell.metadata = nbformat.NotebookNode(nbgrader=cell.metadata["nbgrader"])
            else:
                cell.metadata = nbformat.NotebookNode()
            if cell.cell_type == "raw" or (cell.cell_type == "markdown" and cell.source not in trusted):
                cell.cell_type = "markdown"
                cell.source = as_text(cell.source)
                cell.pop("attachments", None)
        nb.metadata = {key: nb.metadata[key] for key in ("kernelspec",) if key in nb.metadata}
        nb.metadata["language_info"] = {"name": "python"}
        return nb, resources


def _instructor_markdown(info):
    """The markdown cells of the notebook students were given (release/<assignment>/), verbatim.

    nbgrader runs its converters from the course folder (BaseConverter.start
    changes into it), so the release is found relative to it; without it no
    text is trusted and every markdown cell is shown as text.
    """
    path = os.path.join("release", info["assignment"], f"{info['notebook']}.ipynb")
    try:
        released = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 (no release: trust nothing)
        return set()
    return {cell.source for cell in released.cells if cell.cell_type == "markdown"}
