"""How long does the audit take?  The whole lab (every mutant and the catalogues), and the CI sample.

    .venv/bin/python benchmarks/bench_audit.py [--runs 3] [--jobs 2] [--ci-runs 3] [--json FILE]

Each run is the real command, ``python -m autograder audit --out TMP``
(``--sample 15`` for the CI figure, the sample tests/autograder/test_audit.py
grades), timed from outside, end to end: interpreter start, mutant
generation, every grading process, the report.  Reported: median and max
wall time, mutants per minute (mutants graded / median minutes), the
machine's load average before each run (other work on a shared machine
shows up here), and the audit's own verdict.  Target: the whole lab in
at most 5 minutes on 2 cores.

``--cosmic-ray N`` also times N mutants the way cosmic-ray runs them
(``cosmic-ray exec``: its local distributor mutates the file in place and
runs one ``python -m autograder grade`` subprocess per mutant), for the
comparison quoted in autograder/audit/__init__.py.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 300


def audit_once(jobs, extra=()):
    with tempfile.TemporaryDirectory() as out:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autograder", "audit", "--jobs", str(jobs), "--out", out,
                               *extra], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        data = json.loads((Path(out) / "report.json").read_text(encoding="utf-8"))
    return {"seconds": round(seconds, 1), "load_before": round(load, 2), "exit": proc.returncode,
            "graded": data["mutants"]["graded"], "submissions": data["timing"]["submissions_graded"],
            "score": data["score"]["percent"]}


def cosmic_ray_exec(n):
    """Seconds per mutant for cosmic-ray's own runner on kl_warmup (schedules.py), first ``n`` work items."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run(["cp", "-r", str(ROOT / "solutions" / "lab6_generative"), str(tmp / "sub")], check=True)
        sub = tmp / "sub"
        (tmp / "pkg").mkdir()
        os.rename(sub, tmp / "pkg" / "lab6_generative")
        (tmp / "check.py").write_text(textwrap.dedent(f"""\
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            from autograder.grading.engine import grade
            result = grade(sys.argv[1])
            sys.exit(0 if result.score == result.max_score else 1)
            """), encoding="utf-8")
        (tmp / "cr.toml").write_text(textwrap.dedent(f"""\
            [cosmic-ray]
            module-path = "pkg/lab6_generative/schedules.py"
            timeout = 600.0
            excluded-modules = []
            test-command = "{sys.executable} check.py pkg"

            [cosmic-ray.distributor]
            name = "local"
            """), encoding="utf-8")
        bin_dir = Path(sys.executable).parent
        subprocess.run([str(bin_dir / "cosmic-ray"), "init", "cr.toml", "session.sqlite"], cwd=tmp, check=True,
                       capture_output=True)
        started = time.perf_counter()
        proc = subprocess.Popen([str(bin_dir / "cosmic-ray"), "exec", "cr.toml", "session.sqlite"], cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import sqlite3

        done = 0
        while done < n and proc.poll() is None:
            time.sleep(1)
            with sqlite3.connect(tmp / "session.sqlite") as db:
                done = db.execute("select count(*) from work_results").fetchone()[0]
        seconds = time.perf_counter() - started
        proc.kill()
        proc.wait()
    return round(seconds / max(done, 1), 2)


def summary(runs):
    seconds = [r["seconds"] for r in runs]
    median = statistics.median(seconds)
    return {"median_s": median, "max_s": max(seconds), "runs": runs,
            "mutants_per_minute": round(runs[0]["graded"] / (median / 60), 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="full audits (default 3)")
    parser.add_argument("--ci-runs", type=int, default=3, help="CI-sample audits (default 3; 0 to skip)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cosmic-ray", type=int, default=0, metavar="N",
                       help="also time N mutants under cosmic-ray's own runner")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)

    figures = {"cpu_count": os.cpu_count(), "jobs": args.jobs}
    figures["full"] = summary([audit_once(args.jobs) for _ in range(args.runs)])
    if args.ci_runs:
        figures["ci_sample"] = summary([audit_once(args.jobs, ["--sample", "15"]) for _ in range(args.ci_runs)])
    if args.cosmic_ray:
        figures["cosmic_ray_exec_s_per_mutant"] = cosmic_ray_exec(args.cosmic_ray)

    print(f"Audit benchmark ({os.cpu_count()} CPUs, --jobs {args.jobs}; wall seconds, end to end)")
    for key, label in (("full", "whole lab"), ("ci_sample", "CI sample (--sample 15)")):
        if key in figures:
            f = figures[key]
            r = f["runs"][0]
            print(f"  {label:28s} median {f['median_s']:6.1f} s, max {f['max_s']:6.1f} s over {len(f['runs'])} runs; "
                  f"{r['graded']} mutants + catalogues = {r['submissions']} submissions; "
                  f"{f['mutants_per_minute']:.1f} mutants/min; score {r['score']:g}%; "
                  f"load before: {', '.join(str(x['load_before']) for x in f['runs'])}")
    if "full" in figures:
        verdict = "met" if figures["full"]["median_s"] <= TARGET_S else "NOT met"
        print(f"  target: whole lab <= {TARGET_S} s: {verdict}")
    if "cosmic_ray_exec_s_per_mutant" in figures:
        print(f"  cosmic-ray exec (one grade subprocess per mutant, serial): "
              f"{figures['cosmic_ray_exec_s_per_mutant']:.1f} s per mutant")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
