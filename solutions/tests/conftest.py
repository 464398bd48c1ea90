"""Short, readable output for the public tests.

- Before the tests run, one line lists the TODOs you have not written yet (the
  functions of lab6_generative/ that still ``raise NotImplementedError()``).
- A test that stops at such a TODO is reported in one line naming the function
  and its file, instead of a traceback; the end of the run counts them again.
- Every other failure keeps pytest's short traceback with the test's message
  (``--tb=short`` in pytest.ini); an assertion with a message shows that message
  without pytest's breakdown of the expression.  ``pytest --tb=long -v`` shows
  everything.
"""
import ast
import os

import pytest

PACKAGE = "lab6_generative"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_stopped = {}   # "kl_warmup() in lab6_generative/schedules.py" -> tests that stopped there


def _raises_not_implemented(statement):
    if not isinstance(statement, ast.Raise) or statement.exc is None:
        return False
    exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def open_todos(folder=os.path.join(HERE, PACKAGE)):
    """["reparameterize() in lab6_generative/vae.py", ...]: functions whose body still raises NotImplementedError."""
    todos = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if not name.endswith(".py"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
        except (OSError, SyntaxError, ValueError):
            continue                      # a file that does not parse: the tests will say so
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    any(_raises_not_implemented(s) for s in node.body):
                todos.append(f"{node.name}() in {PACKAGE}/{name}")
    return todos


def _stopped_at(excinfo):
    """"kl_warmup() in lab6_generative/schedules.py" when the test stopped at that stub, else None."""
    if excinfo is None or not excinfo.errisinstance(NotImplementedError) or not excinfo.traceback:
        return None
    entry = excinfo.traceback[-1]
    folder, name = os.path.split(str(entry.path))
    if os.path.basename(folder) != PACKAGE:
        return None
    return f"{entry.name}() in {PACKAGE}/{name}"


class _Crash:
    """What pytest's summary line and JUnit report read of a failure: its message and where."""

    def __init__(self, path, lineno, message):
        self.path, self.lineno, self.message = path, lineno, message


class TodoNotImplemented:
    """A failure report of one line: "NotImplementedError: kl_warmup() in ... is not implemented yet"."""

    def __init__(self, todo, path, lineno):
        self.message = f"NotImplementedError: {todo} is not implemented yet"
        self.reprcrash = _Crash(path, lineno, self.message)

    def toterminal(self, out):
        out.line(self.message, red=True)

    def __str__(self):
        return self.message


def pytest_collection_finish(session):
    todos = open_todos()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if todos and reporter is not None:
        reporter.write_line(f"Not implemented yet: {'; '.join(todos)}", yellow=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    if call.excinfo is not None and call.excinfo.errisinstance(AssertionError) and \
            item.config.getoption("tbstyle") in ("auto", "short", "line"):
        text = str(call.excinfo.value)
        if "\nassert " in text and not text.startswith("assert "):   # the test's message says it all
            call.excinfo.value.args = (text.split("\nassert ")[0],)
    outcome = yield
    report = outcome.get_result()
    todo = _stopped_at(call.excinfo) if report.failed else None
    if todo:
        entry = call.excinfo.traceback[-1]
        report.longrepr = TodoNotImplemented(todo, str(entry.path), entry.lineno + 1)
        _stopped.setdefault(todo, []).append(item.nodeid)


def pytest_terminal_summary(terminalreporter):
    if _stopped:
        terminalreporter.section("not implemented yet", sep="-", yellow=True)
        for todo, tests in _stopped.items():
            terminalreporter.line(f"{todo}: {len(tests)} test{'s' if len(tests) > 1 else ''} stopped there")
        terminalreporter.line("Replace `raise NotImplementedError()` in each with your code; "
                              "its docstring says what to compute.")
