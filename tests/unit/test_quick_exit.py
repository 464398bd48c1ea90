"""How a command's process ends (autograder/quick_exit.py): as a normal exit would, minus the teardown.

The statuses are a pure function; the rest runs a small program (no torch) and
looks at what it left: its exit status, its whole output, the files its exit
handlers and its last thread wrote, the temporary directory it never removed.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from autograder import quick_exit
from support import ROOT


@pytest.mark.parametrize("code, expected", [(None, 0), (0, 0), (3, 3), (256, 0), (-1, 255), (True, 1)])
def test_the_status_is_what_sys_exit_gives(code, expected, capsys):
    assert quick_exit.status(code) == expected
    assert capsys.readouterr().err == ""


def test_a_message_is_printed_and_the_status_is_1(capsys):
    assert quick_exit.status("error: no such folder") == 1
    assert capsys.readouterr().err == "error: no such folder\n"


PROGRAM = textwrap.dedent("""
    import atexit, os, sys, tempfile, threading, time
    from autograder import quick_exit

    out = sys.argv[1]

    def main(ending):
        atexit.register(lambda: open(os.path.join(out, "atexit"), "w").write("ran"))
        left = tempfile.TemporaryDirectory(dir=out)          # removed by its finalizer at exit
        open(os.path.join(out, "left"), "w").write(left.name)
        def last_words():
            time.sleep(0.3)
            open(os.path.join(out, "thread"), "w").write("ran")
        threading.Thread(target=last_words).start()
        sys.stdout.write("x" * 200000)                        # buffered: no newline, no flush
        if ending == "raise":
            raise ValueError("an uncaught exception")
        if ending == "message":
            sys.exit("error: said once")
        return 3

    quick_exit.run(main, sys.argv[2])
""")


def run_program(tmp_path, ending):
    return subprocess.run([sys.executable, "-c", PROGRAM, str(tmp_path), ending], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("ending, status", [("return", 3), ("message", 1)])
def test_everything_a_normal_exit_does_is_done(tmp_path, ending, status):
    proc = run_program(tmp_path, ending)
    assert proc.returncode == status, proc.stderr
    assert proc.stdout == "x" * 200000, "the buffered output is flushed"
    assert proc.stderr == ("error: said once\n" if ending == "message" else "")
    assert (tmp_path / "atexit").read_text() == "ran", "the exit handlers run"
    assert (tmp_path / "thread").read_text() == "ran", "a non-daemon thread is waited for"
    assert not os.path.exists((tmp_path / "left").read_text()), "finalizers run: the temporary directory is gone"


@pytest.mark.slow
def test_an_uncaught_exception_ends_the_process_as_the_interpreter_does(tmp_path):
    proc = run_program(tmp_path, "raise")
    assert proc.returncode == 1
    assert proc.stderr.rstrip().endswith("ValueError: an uncaught exception")
    assert proc.stdout == "x" * 200000 and (tmp_path / "atexit").exists() and (tmp_path / "thread").exists()
