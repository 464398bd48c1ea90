"""Writing the grader's own files safely: whole or not at all.

Every file a command writes for people or for a later command (a report,
grades.csv, collect's manifest, an LMS export, a feedback file) goes through
``write_text`` or ``write_bytes``: the data goes to a new temporary file next
to the target (created exclusively, under a random name, so a file or link a
student left there is never written through), then replaces the target in one
rename.  A reader sees the old file or the new one, never half of one; an
interrupted run leaves no partial file behind.

A target that exists and is not a regular file (``/dev/stdout``, a pipe) is
written in place: renaming over it would replace the device.

(Separate from ``text.py``, whose functions are pure and never raise: these do
I/O and raise ``OSError`` when the disk says no.)
"""
import os
import secrets

from autograder.text import encodable


def write_text(path, text, newline=None, sync=False):
    """Write ``text`` to ``path`` atomically as UTF-8; folders are created.

    The file is valid UTF-8 whatever ``text`` holds: surrogates (undecodable
    bytes of a student's text) are written as U+FFFD.  ``newline`` is
    ``open``'s (``""`` for CSV text, whose line ends are its own).  ``sync``:
    on the disk before the rename (for a file a crash must not lose).
    """
    _write(path, encodable(text), "w", {"encoding": "utf-8", "newline": newline}, sync)


def write_bytes(path, data, sync=False):
    """Write ``data`` to ``path`` atomically (see the module's docstring); folders are created."""
    _write(path, data, "wb", {}, sync)


def _write(path, data, mode, options, sync):
    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, mode, **options) as f:
            f.write(data)
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # never through a planted link
        with os.fdopen(fd, mode, **options) as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())


class atomic:
    """``with atomic(path) as tmp:`` write ``tmp`` (a fresh name next to ``path``, not yet created), and
    it replaces ``path`` when the block ends without an exception; otherwise it is removed.

    For writers that need a file name (matplotlib's savefig, a database): ``write_text`` and
    ``write_bytes`` use it too.
    """

    def __init__(self, path, suffix=""):
        self.path = os.fspath(path)
        folder, name = os.path.split(os.path.abspath(self.path))
        self.tmp = os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")

    def __enter__(self):
        return self.tmp

    def __exit__(self, kind, value, traceback):
        try:
            if kind is None:
                os.replace(self.tmp, self.path)
        finally:   # the block or the rename failed: no partial file is left behind
            if os.path.lexists(self.tmp):
                os.unlink(self.tmp)
        return False
