"""End a command's process as soon as its work is done, without the interpreter's teardown.

    from autograder import quick_exit
    quick_exit.run(main)        # main() -> exit status; never returns

After ``grade``, Python spends about 0.8 s (this machine, quiet) tearing down
what the command loaded (torch, pytest, hypothesis): destroying every module's
objects and collecting their cycles.  That writes nothing and frees nothing
the operating system would not free anyway, so ``run`` skips it.  Everything a
normal exit does that someone can see still happens first, in the same order:
non-daemon threads are joined, the exit handlers run (``atexit``, and with it
``weakref.finalize``'s: temporary directories), stdout and stderr are flushed.
Then ``os._exit`` with the status ``sys.exit`` would give.

An uncaught exception is not handled here: it propagates, and the interpreter
reports and exits as it always does.
"""
import atexit
import os
import sys
import threading

FLUSH_FAILED = 120   # the interpreter's status when it cannot flush stdout or stderr at exit


def status(code):
    """The exit status ``sys.exit(code)`` gives: None is 0, an int its low byte, anything else 1 (printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run(main, *args):
    """Call ``main(*args)``, then end the process with its exit status (its return value or SystemExit's)."""
    try:
        code = main(*args)
    except SystemExit as stop:
        code = stop.code
    exit_now(status(code))


def exit_now(code):
    """What a normal exit does that can be seen (threads, exit handlers, flushed output), then ``os._exit``."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):   # a closed pipe or stream: what the interpreter says with 120
        code = FLUSH_FAILED
    os._exit(code)
