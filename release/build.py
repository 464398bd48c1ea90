"""Regenerate the student release from the instructor's source.

    python -m release.build [--source solutions] [--out assignment]

Python modules go through nbgrader's own ``ClearSolutions`` preprocessor: each
``### BEGIN SOLUTION`` / ``### END SOLUTION`` region becomes the stub
``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the region's
indentation; signatures and docstrings stay.  Other files are copied as they are.
"""
import argparse
import os
import shutil
import sys

import nbformat
from nbgrader.preprocessors import ClearSolutions

# Never copied to students.
EXCLUDE_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis", ".data", "outputs", ".ipynb_checkpoints"}
EXCLUDE_FILES = {".DS_Store"}


def clear_solutions_in_source(source, filename="<source>"):
    """``source`` with every solution region replaced by nbgrader's code stub."""
    cell = nbformat.v4.new_code_cell(source)
    # A plain (not nbgrader-marked) cell: only the marked regions are replaced.
    preprocessor = ClearSolutions(enforce_metadata=False)
    try:
        preprocessor.preprocess_cell(cell, {"language": "python"}, 0)
    except RuntimeError as err:
        raise ValueError(f"{filename}: {err}") from None
    return cell.source


def build(source, out):
    """Write the release of ``source`` into ``out`` (replacing it)."""
    if os.path.exists(out):
        shutil.rmtree(out)
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDE_DIRS)
        rel = os.path.relpath(folder, source)
        os.makedirs(os.path.join(out, rel), exist_ok=True)
        for name in sorted(files):
            if name in EXCLUDE_FILES or name.endswith(".pyc"):
                continue
            src, dst = os.path.join(folder, name), os.path.join(out, rel, name)
            if name.endswith(".py"):
                with open(src, encoding="utf-8") as f:
                    text = f.read()
                with open(dst, "w", encoding="utf-8") as f:
                    f.write(clear_solutions_in_source(text, os.path.join(rel, name)))
            else:
                shutil.copyfile(src, dst)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m release.build", description=__doc__.splitlines()[1])
    p.add_argument("--source", default="solutions")
    p.add_argument("--out", default="assignment")
    args = p.parse_args(argv)
    if not os.path.isdir(os.path.join(args.source, "lab6_generative")):
        print(f"error: {args.source}/lab6_generative not found", file=sys.stderr)
        return 2
    try:
        build(args.source, args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}/ from {args.source}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
