"""Submissions made from the student release: its stubs filled with bodies, or whole functions replaced.

A submission is a copy of the release's package (``assignment/lab6_generative``)
in which each ``# YOUR CODE HERE`` stub is replaced, the way a student would:

- ``bodies``: function name -> body (the catalogues in autograder/audit/catalogues/:
  correct.yml, alternatives.yml, bugs.yml, hostile.yml); a stub without a
  body gets the reference body of correct.yml, unless ``stubs`` is set;
- ``defs``: function name -> a whole ``def`` (signature, docstring and body),
  for mutants, whose change may be in a default argument;
- ``module_code``: module name -> code appended to that module.

This is the one implementation: the audit builds its mutants and catalogue
submissions with it, and the repository's tests use it through
tests/support/submissions.py.
"""
import ast
import os
import shutil

import yaml

from autograder.facts import ASSIGNMENT_DIR as RELEASE, PACKAGE, ROOT, SOLUTIONS_DIR as REFERENCE  # noqa: F401

CATALOGUES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "catalogues")   # the audit's input
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()\n"


def load(name, folder=CATALOGUES):
    """The parsed ``<folder>/<name>.yml`` (a catalogue)."""
    with open(os.path.join(folder, f"{name}.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def stubbed(release=RELEASE):
    """function name -> module name for every stub in the release's package, in file order."""
    found = {}
    folder = os.path.join(release, PACKAGE)
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            text = f.read()
        for node in ast.parse(text).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and STUB in _segment(text, node):
                found[node.name] = name[:-3]
    return found


def _span(source, function):
    """(first line index, end line index) of top-level ``def function`` in ``source`` (0-based, end exclusive)."""
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return first - 1, node.end_lineno
    raise KeyError(f"no function {function} in the module")


def _segment(source, node):
    lines = source.splitlines(keepends=True)
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return "".join(lines[first - 1:node.end_lineno])


def fill(source, function, body):
    """``source`` with the stub of ``function`` replaced by ``body`` (indented into the function)."""
    start = source.index(f"def {function}(")
    stub = source.index(STUB, start)
    indented = "".join(f"    {line}\n" if line.strip() else "\n" for line in body.rstrip().splitlines())
    return source[:stub] + indented + source[stub + len(STUB):]


def replace_function(source, function, new_def):
    """``source`` with the whole top-level ``def function`` replaced by ``new_def``."""
    first, end = _span(source, function)
    lines = source.splitlines(keepends=True)
    return "".join(lines[:first]) + new_def.rstrip("\n") + "\n" + "".join(lines[end:])


def build(folder, bodies=None, defs=None, module_code=None, stubs=False, release=RELEASE, catalogues=CATALOGUES):
    """Write a submission into ``folder`` (created) and return its path.

    bodies: function -> body for that stub.  defs: function -> whole def.
    module_code: module -> code appended.  stubs: leave stubs that get
    neither a body nor a def (the release as it is); otherwise they get the
    reference bodies of ``<catalogues>/correct.yml``.
    """
    package = os.path.join(folder, PACKAGE)
    shutil.copytree(os.path.join(release, PACKAGE), package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    module_of = stubbed(release)
    defs = dict(defs or {})
    code = {} if stubs else {f: b for f, b in load("correct", catalogues).items() if f not in defs}
    code.update(bodies or {})
    for function, body in code.items():
        path = os.path.join(package, f"{_module(module_of, function)}.py")
        _write(path, fill(_read(path), function, body))
    for function, new_def in defs.items():
        path = os.path.join(package, f"{_module(module_of, function)}.py")
        _write(path, replace_function(_read(path), function, new_def))
    for module, extra in (module_code or {}).items():
        path = os.path.join(package, f"{module}.py")
        _write(path, _read(path) + "\n\n" + extra)
    return folder


def _module(module_of, function):
    if function not in module_of:
        raise KeyError(f"{function} is not a stubbed function of the release ({', '.join(module_of)})")
    return module_of[function]


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
