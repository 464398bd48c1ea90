"""The worker process: confines itself, imports the submission and answers probe requests.

Started by ``autograder.grading.worker.Worker``, inside its ``sandbox.Box``, as::

    python -s -B -u -c BOOTSTRAP GRADER_DIR SETTINGS_JSON

GRADER_DIR holds the private copy of the worker modules (this file, student,
probes, wire, confine); SETTINGS_JSON the mechanism, limits, paths and the two pipe
descriptors.  The worker imports torch and the grader's probes *before* the
submission is on ``sys.path`` (so a submission cannot shadow them), then
confines itself (``confine.confine``: limits, Landlock, seccomp), says so in
its first message, ``{"ready": true}`` (or ``{"internal": why}`` and exits):
the only message the grader believes, because no student code has run yet.
Then it loops: read a request ``{"probe": name, "kwargs": {...}}`` from the request pipe, run
it, write one response to the response pipe:

    {"ok": payload}            the probe finished
    {"raised": info}           the student's code raised (see student.describe_exception)
    {"bad": message}           the probe could not examine what the student's code returned

Student output goes to this process's stdout/stderr, which the grader
captures; the protocol uses its own file descriptors.
"""
import json
import os
import struct
import sys


def main(argv=None):
    settings = json.loads((argv or sys.argv[1:])[0])
    if settings.get("parent_pid"):  # first of all: die with the grader, even during torch's import
        from autograder.sandbox.confine import die_with_parent

        die_with_parent(settings["parent_pid"])

    if settings.get("selftest"):  # the grader's check of its own sandbox: no torch, no submission
        selftest(settings, settings["request_fd"], settings["response_fd"])
        return
    preload()
    serve(settings)


def preload():
    """Import torch and the grader's probes: before the submission can interfere (and, in a
    template process, once for every worker forked from it)."""
    import torch

    torch.set_num_threads(1)
    from autograder.sandbox import confine  # noqa: F401
    from autograder.grading import probes, student, wire  # noqa: F401


def serve(settings):
    """Confine this process, say so, then answer probe requests until the grader closes the pipe."""
    from autograder.sandbox import confine
    from autograder.grading import probes, student, wire

    request_fd, response_fd = settings["request_fd"], settings["response_fd"]
    submission = settings["submission_path"]
    try:
        confine.confine(settings)
    except confine.ConfineError as err:  # said before any student code could run: the grader believes it
        wire.write_message(response_fd, wire.encode(
            {"internal": f"the {settings['mechanism']} sandbox could not be set up in the worker: {err}"}))
        return
    wire.write_message(response_fd, wire.encode({"ready": True}))

    sys.path.insert(0, submission)
    while True:
        try:
            request = wire.read_message(request_fd)
        except wire.Closed:
            return
        name, kwargs = request.get("probe"), request.get("kwargs") or {}
        try:
            if name == "__import__":
                response = {"ok": student.import_submission(submission)}
                _seed_other_generators()
            else:
                response = {"ok": probes.PROBES[name](**kwargs)}
            data = wire.encode(response)
        except student.StudentRaised as raised:
            data = wire.encode({"raised": raised.info})
        except BaseException as err:  # the student's result could not be examined
            data = wire.encode({"bad": f"{type(err).__name__}: {student.safe_str(err)}"})
        wire.write_message(response_fd, data)


def _seed_other_generators():
    """Seed Python's and numpy's global generators, once the submission is imported.

    The probes seed torch where a check needs it; a submission that draws from
    another global generator (a mistake the determinism check reports) must
    still get the same grade, word for word, every time it is graded.
    """
    import random

    random.seed(0)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(0)


def selftest(settings, request_fd, response_fd):
    """Answer the grader's one self-test request (see sandbox.verify) in wire's format, without torch."""
    from autograder.sandbox import confine

    header = struct.Struct("<QQ")
    wanted = header.size
    while wanted:  # the request itself carries nothing the self-test needs
        chunk = os.read(request_fd, wanted)
        if not chunk:
            return
        wanted -= len(chunk)
    try:
        confine.confine(settings)
    except confine.ConfineError as err:
        report = {"confined": False, "error": str(err)}
    else:
        report = {"confined": True, "escapes": confine.escapes(settings)}
    text = json.dumps(report).encode("utf-8")
    data = memoryview(header.pack(len(text), 0) + text)
    while data:
        data = data[os.write(response_fd, data):]
