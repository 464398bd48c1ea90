"""One module per platform, each turning a results.Result into that platform's format.

console      the table printed at the end of a run
gradescope   results.json (Gradescope's autograder results specification)
classroom50  result.json (Classroom 50's classroom50/result/v1)
github       GitHub Actions: step summary, annotations, and the grading reporter's `result` output
"""
import json
import os


def write_json(path, data):
    """Write ``data`` as JSON to ``path`` (atomically: a partial file is never left behind).

    A path that exists and is not a regular file (/dev/null, /dev/stdout, a
    pipe) is written in place: renaming over it would replace the device.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)
