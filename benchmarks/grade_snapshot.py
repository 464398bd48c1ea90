"""Grades before and after a change: the stored Result of every reference submission, normalized.

    .venv/bin/python benchmarks/grade_snapshot.py OUT_DIR [--jobs 2] [--pool]
    .venv/bin/python benchmarks/grade_snapshot.py --compare BEFORE_DIR AFTER_DIR

Grades solutions/, assignment/ (the stubs) and every submission of the
catalogues (autograder/audit/catalogues/correct.yml, alternatives.yml, bugs.yml) with the
ordinary command, ``python -m autograder grade SUB --report result=FILE``, and
writes each stored Result (``--pool``: graded instead through the grading
pool, as ``grade-all`` and the audit grade) with what may differ between runs removed: times
(``seconds``), the submission's path, and the per-test ``reason`` (new in
version 2 of the stored form).  ``--compare`` prints every difference and exits
1 if there is one: a refactor that keeps grades must leave it silent.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VOLATILE = {"seconds", "submission", "reason", "schema", "version"}


def normalize(data):
    if isinstance(data, dict):
        return {k: normalize(v) for k, v in sorted(data.items()) if k not in VOLATILE}
    if isinstance(data, list):
        return [normalize(v) for v in data]
    return data


def submissions(scratch):
    """name -> folder of every reference submission (the catalogues built into ``scratch``)."""
    from autograder.audit import submissions as built

    found = {"solutions": str(ROOT / "solutions"), "assignment": str(ROOT / "assignment")}
    catalogues = str(ROOT / "autograder" / "audit" / "catalogues")
    for name, bodies in built.load("alternatives", catalogues).items():
        found[f"alternative-{name}"] = built.build(os.path.join(scratch, f"alt-{name}"), bodies=bodies,
                                                   catalogues=catalogues)
    for bug in built.load("bugs", catalogues):
        found[f"bug-{bug['name']}"] = built.build(os.path.join(scratch, f"bug-{bug['name']}"),
                                                  bodies={bug["function"]: bug["body"]}, catalogues=catalogues)
    return found


def grade(name, folder, out):
    target = os.path.join(out, f"{name}.json")
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", folder, "--report", f"result={target}"],
                          cwd=ROOT, capture_output=True, text=True)
    if not os.path.exists(target):
        return name, f"no result (exit {proc.returncode}): {proc.stderr[-500:]}"
    with open(target, encoding="utf-8") as f:
        data = normalize(json.load(f))
    with open(target, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    return name, None


def grade_pooled(found, out, jobs):
    """Every submission through the grading pool; yields (name, problem or None)."""
    from autograder import results
    from autograder.grading.pool import Pool

    with Pool(jobs) as pool:
        futures = {name: pool.submit(folder) for name, folder in found.items()}
        for name, future in futures.items():
            result = future.result()
            with open(os.path.join(out, f"{name}.json"), "w", encoding="utf-8") as f:
                json.dump(normalize(results.to_dict(result)), f, indent=1, sort_keys=True)
            yield name, None


def compare(before, after):
    names = sorted(set(os.listdir(before)) | set(os.listdir(after)))
    differences = 0
    for name in names:
        paths = [os.path.join(before, name), os.path.join(after, name)]
        if not all(os.path.exists(p) for p in paths):
            print(f"{name}: only in {'after' if os.path.exists(paths[1]) else 'before'}")
            differences += 1
            continue
        a, b = (json.load(open(p, encoding="utf-8")) for p in paths)
        if normalize(a) != normalize(b):
            differences += 1
            print(f"{name}: differs")
            for ca, cb in zip(a.get("checks", []), b.get("checks", [])):
                if normalize(ca) != normalize(cb):
                    print(f"  check {ca.get('id')}: {json.dumps(normalize(ca))[:600]}\n"
                          f"                 -> {json.dumps(normalize(cb))[:600]}")
            for key in ("notes", "internal_errors", "output", "total", "isolation"):
                if a.get(key) != b.get(key):
                    print(f"  {key}: {str(a.get(key))[:300]} -> {str(b.get(key))[:300]}")
    print(f"{len(names)} results compared, {differences} differ")
    return 1 if differences else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--pool", action="store_true", help="grade through the grading pool")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if not args.out:
        parser.error("give OUT_DIR or --compare BEFORE AFTER")
    os.makedirs(args.out, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        found = submissions(scratch)
        if args.pool:
            graded = grade_pooled(found, args.out, args.jobs)
        else:
            threads = concurrent.futures.ThreadPoolExecutor(args.jobs)
            graded = threads.map(lambda item: grade(*item, args.out), found.items())
        for name, problem in graded:
            print(f"{name}: {problem or 'ok'}", flush=True)
            failed += bool(problem)
    print(f"{len(found)} submissions graded into {args.out}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
