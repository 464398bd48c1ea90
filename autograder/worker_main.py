"""The worker process: imports the submission and answers probe requests.

Started by ``autograder.worker.Worker`` as::

    python -s -B -u -c BOOTSTRAP SUBMISSION REQUEST_FD RESPONSE_FD MEMORY_BYTES FILE_BYTES

It limits its own memory and file sizes, imports torch and the grader's
probes *before* the submission is on ``sys.path`` (so a submission cannot
shadow them), then loops: read a request ``{"probe": name, "kwargs": {...}}``
from REQUEST_FD, run it, write one response to RESPONSE_FD:

    {"ok": payload}            the probe finished
    {"raised": info}           the student's code raised (see probes.describe_exception)
    {"bad": message}           the probe could not examine what the student's code returned

Student output goes to this process's stdout/stderr, which the grader
captures; the protocol uses its own file descriptors.
"""
import resource
import sys


def _limit(kind, value):
    if value > 0:
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def main(argv=None):
    submission, request_fd, response_fd, memory, file_size = (argv or sys.argv[1:])[:5]
    request_fd, response_fd = int(request_fd), int(response_fd)
    _limit(resource.RLIMIT_AS, int(memory))
    _limit(resource.RLIMIT_FSIZE, int(file_size))
    _limit(resource.RLIMIT_CORE, 0)

    import torch  # imported before the submission can interfere

    torch.set_num_threads(1)

    from autograder import probes, wire

    sys.path.insert(0, submission)
    while True:
        try:
            request = wire.read_message(request_fd)
        except wire.Closed:
            return
        name, kwargs = request.get("probe"), request.get("kwargs") or {}
        try:
            if name == "__import__":
                response = {"ok": probes.import_submission(submission)}
            else:
                response = {"ok": probes.PROBES[name](**kwargs)}
            data = wire.encode(response)
        except probes.StudentRaised as raised:
            data = wire.encode({"raised": raised.info})
        except BaseException as err:  # the student's result could not be examined
            data = wire.encode({"bad": f"{type(err).__name__}: {probes.safe_str(err)}"})
        wire.write_message(response_fd, data)
