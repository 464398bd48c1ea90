"""Collect a class's repositories as they stood at the deadline: ``python -m autograder collect``.

    python -m autograder collect ROSTER --deadline 2026-12-01T23:59:00+01:00 --out collected/
                                 [--jobs N] [--on-time-only] [--github-api URL] [--timeout S] [--rubric FILE]

ROSTER is a CSV with a ``student`` column (the name of the student's folder)
and a ``repo`` column (a clone URL on any git host, or a path, relative to
the roster's folder), optionally ``extension`` (extra time: a number of
hours, or a new deadline with its timezone); other columns (``email``,
``sis_id``, ...) are for ``export`` and are ignored here.

Each student's repository is cloned (the first time) or fetched (every later
run) into ``OUT/<student>/`` and checked out at the latest commit of its
default branch that was pushed by the student's deadline plus the late window
of the rubric's ``late:`` policy (``max_days``; no policy, no window), so
late work is collected and ``grade-all`` penalises it.  ``--on-time-only``
takes the last commit pushed by the deadline (plus the policy's grace
period) instead.

When was a commit pushed?  On GitHub (a repository on github.com, or on any
host with ``--github-api``; ``$GITHUB_API_URL`` for repositories on its own
host), the time of the first push that made it part of the branch, from the
push times GitHub records (see github_activity.py); a student's commit dates
(``git commit --date``) do not count.  Elsewhere, without a token, or when the
API fails, the committer dates (of the commit and its ancestors: a commit is
never earlier than its parents), and the row says so.

``OUT/manifest.csv`` (written atomically, one row per roster student, sorted)
has: student, repo, branch, commit, pushed_at (UTC), deadline (the student's,
after the extension), minutes_late (0 up to the deadline), on_time (yes up to
the deadline plus the grace period), time_source (github-push or
commit-date) and problems.  A missing, private or empty repository, a folder
in the way, a timeout: that student's row says why, and the others go on.

Student repositories are hostile: git never prompts (no terminal, no askpass,
SSH in batch mode), every repository has a time limit (``--timeout``), no
hooks run (``core.hooksPath=/dev/null``), no submodules, no LFS downloads,
symbolic links are checked out as plain files (``core.symlinks=false``),
local paths are cloned with ``--no-local``, and a folder under OUT that is
not a clone of the student's repository is reported and left alone.  Before a
commit is checked out, the files it would write are added up from its tree
(``git ls-tree -r -t -l``, streamed and stopped early; every path counts, so
one blob under ten names counts ten times): over the rubric's
``limits.repository_mb`` or ``MAX_REPOSITORY_ENTRIES`` files and folders,
nothing is checked out and the row says why.
"""
import concurrent.futures
import csv
import dataclasses
import datetime
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from autograder.semester import github_activity, manifest
from autograder.semester.manifest import COLUMNS, COMMIT_DATE, GITHUB_PUSH
from autograder.errors import UsageError
from autograder.text import number

DEFAULT_TIMEOUT = 300.0
PARTIAL = ".partial-"      # clones in progress: OUT/.partial-<student>, renamed when complete
# Files and folders one checkout may hold (a rubric's limits.repository_files, when it has one, instead).
MAX_REPOSITORY_ENTRIES = 50_000

# On every git command: settings a student's repository cannot override and an instructor's config must not.
GIT_CONFIG = ("core.hooksPath=/dev/null", "core.symlinks=false", "core.fsmonitor=false", "core.askPass=",
              "credential.interactive=never", "submodule.recurse=false", "fetch.recurseSubmodules=false",
              "protocol.ext.allow=never", "gc.auto=0", "maintenance.auto=false", "advice.detachedHead=false")
# Also written into each clone's own config, for whoever runs git there later.
CLONE_CONFIG = ("core.hooksPath=/dev/null", "core.symlinks=false", "core.fsmonitor=false",
                "submodule.recurse=false")
# Variables that would point git at another repository than the one it is given.
_GIT_REDIRECTS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
                  "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES",
                  "GIT_ASKPASS", "SSH_ASKPASS", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT")


class Problem(Exception):
    """Why one student's repository could not be collected (one sentence for the manifest)."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One roster row, validated."""

    student: str
    repo: str               # as written in the roster (shown in the manifest, credentials masked)
    url: str                # what git is given: the URL, or the absolute path
    deadline: datetime.datetime


@dataclasses.dataclass(frozen=True)
class Settings:
    out: str
    shown_out: str
    window: datetime.timedelta      # how long after a deadline work is still collected
    grace: datetime.timedelta       # how long after a deadline still counts as on time
    on_time_only: bool
    timeout: float
    api: str                        # GitHub's API base URL
    api_everywhere: bool            # --github-api: every repository is on that GitHub
    token: object = dataclasses.field(repr=False)   # str or None; never printed
    limits: object = None           # the rubric's limits (repository_mb); None: rubric.Limits()


def register(subparsers):
    p = subparsers.add_parser("collect", help="clone every student's repository as it stood at the deadline",
                              description="Clone or fetch each roster student's repository into OUT/<student>/ at "
                                          "the last commit pushed by the deadline (plus the late window); write "
                                          "OUT/manifest.csv.")
    p.add_argument("roster", metavar="ROSTER", help="CSV with student and repo columns (optional: extension)")
    p.add_argument("--deadline", required=True, help="ISO 8601 with a timezone, e.g. 2026-12-01T23:59:00+01:00")
    p.add_argument("--out", required=True, metavar="DIR", help="where the student folders and manifest.csv go")
    p.add_argument("--jobs", type=int, default=4, metavar="N", help="repositories fetched at once (default: 4)")
    p.add_argument("--on-time-only", action="store_true",
                   help="take the last commit pushed by the deadline (plus grace), never late work")
    p.add_argument("--github-api", metavar="URL",
                   help="GitHub (Enterprise) API base URL for every repository, e.g. https://HOST/api/v3 "
                        "(default: $GITHUB_API_URL for repositories on its host, else api.github.com for github.com)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"time limit per repository (default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--rubric", metavar="FILE", help="the rubric with the late policy (default: grading.yml)")
    p.set_defaults(run=run_collect)


# ---------------------------------------------------------------- the roster and the deadlines

def parse_deadline(text, what):
    """An aware datetime from ISO 8601; UsageError naming ``what`` otherwise."""
    example = "like 2026-12-01T23:59:00+01:00 (or ...Z for UTC)"
    try:
        value = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{what} {text!r} is not a date and time: write it {example}") from None
    if value.tzinfo is None:
        raise UsageError(f"{what} {text!r} has no timezone: write it {example}")
    return value


def parse_extension(text, deadline, where):
    """The student's deadline: ``deadline`` plus a number of hours, or a new deadline; UsageError otherwise."""
    text = (text or "").strip()
    if not text:
        return deadline
    try:
        hours = float(text)
    except ValueError:
        hours = None
    if hours is not None:
        if not math.isfinite(hours) or hours < 0:
            raise UsageError(f"{where}: extension {text!r} must be a number of hours >= 0 or a deadline")
        return deadline + datetime.timedelta(hours=hours)
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise UsageError(f"{where}: extension {text!r} is neither a number of hours nor a deadline with a "
                         f"timezone like 2026-12-03T23:59:00+01:00")
    return value


def check_name(name, where):
    """UsageError unless ``name`` is safe as a folder under --out."""
    if not name:
        raise UsageError(f"{where}: the student name is empty")
    if "/" in name or "\\" in name or name.startswith(".") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UsageError(f"{where}: student {name!r} cannot be a folder name (no '/', '\\', control characters "
                         f"or leading '.')")
    if name.lower() == manifest.FILE or len(name.encode()) > 200:
        raise UsageError(f"{where}: student {name!r} cannot be a folder name next to {manifest.FILE}")


def is_url(repo):
    """True for what git treats as a remote URL (scheme://... or scp-like host:path), False for a path."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", repo):
        return True
    head = repo.split("/", 1)[0]
    return ":" in head and not re.match(r"^[A-Za-z]:", head)   # C:... is a Windows path


def read_roster(path, deadline):
    """[Entry] from the roster CSV; UsageError with one sentence for any mistake."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [(h or "").strip() for h in (reader.fieldnames or [])]
            reader.fieldnames = header
            raw = [(reader.line_num, row) for row in reader]
    except FileNotFoundError:
        raise UsageError(f"roster {path} not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UsageError(f"cannot read the roster {path}: {err}") from None
    missing = [c for c in ("student", "repo") if c not in header]
    if missing:
        raise UsageError(f"roster {path} has no {' or '.join(map(repr, missing))} column (its columns: "
                         f"{', '.join(h for h in header if h) or 'none'}); collect needs student and repo")
    base = os.path.dirname(os.path.abspath(path))
    entries, seen = [], {}
    for line, row in raw:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue   # a line of empty cells
        student = (row.get("student") or "").strip()
        where = f"roster {path} line {line}" + (f" ({student})" if student else "")
        check_name(student, where)
        if student.lower() in seen:
            raise UsageError(f"{where}: student {student!r} appears twice (also line {seen[student.lower()]}; "
                             f"names differing only in case share a folder on some systems)")
        seen[student.lower()] = line
        repo = (row.get("repo") or "").strip()
        if repo.startswith("-"):
            raise UsageError(f"{where}: repository {repo!r} must not start with '-'")
        url = repo if (not repo or is_url(repo)) else os.path.abspath(os.path.join(base, os.path.expanduser(repo)))
        entries.append(Entry(student, repo, url, parse_extension(row.get("extension"), deadline, where)))
    if not entries:
        raise UsageError(f"roster {path} has no students")
    return entries


def mask(text):
    """Credentials in URLs masked: https://token@host and https://user:secret@host -> https://***@host."""
    text = re.sub(r"(\bhttps?://)[^/@\s]+@", r"\1***@", text, flags=re.IGNORECASE)
    return re.sub(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*):[^/@\s]*@", r"\1:***@", text)


# ---------------------------------------------------------------- git, never interactive, time-limited

def git_environment():
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REDIRECTS and not k.startswith("GIT_CONFIG_KEY_")
           and not k.startswith("GIT_CONFIG_VALUE_")}
    env.update(GIT_TERMINAL_PROMPT="0", GCM_INTERACTIVE="never", GIT_LFS_SKIP_SMUDGE="1", LC_ALL="C")
    if "GIT_SSH_COMMAND" not in env and "GIT_SSH" not in env:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    return env


class Git:
    """Runs git for one student within that student's time limit."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.until = time.monotonic() + timeout
        self.env = git_environment()

    def __call__(self, *args, cwd=None, check=True):
        remaining = self.until - time.monotonic()
        if remaining <= 0:
            raise Problem(f"timed out: more than {self.timeout:g} s for this repository")
        cmd = ["git"] + [a for kv in GIT_CONFIG for a in ("-c", kv)] + list(args)
        with _running_lock:
            if _stopping.is_set():
                raise Problem("interrupted")
            proc = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=(os.name == "posix"))
            _running.add(proc)
        try:
            out, err = proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.communicate()
            raise Problem(f"timed out: git {args[0]} took more than {self.timeout:g} s for this repository") \
                from None
        finally:
            with _running_lock:
                _running.discard(proc)
        if check and proc.returncode != 0:
            raise GitFailed(args[0], err.decode("utf-8", "replace"))
        return out.decode("utf-8", "replace")

    def stream(self, *args, cwd=None):
        """Yield git's output in chunks as it comes, within the time limit.

        Closing the generator early kills git (its output is never held whole).
        Raises Problem on timeout, GitFailed when git fails.
        """
        remaining = self.until - time.monotonic()
        if remaining <= 0:
            raise Problem(f"timed out: more than {self.timeout:g} s for this repository")
        cmd = ["git"] + [a for kv in GIT_CONFIG for a in ("-c", kv)] + list(args)
        expired = threading.Event()

        def expire(proc):
            expired.set()
            _kill(proc)

        with tempfile.TemporaryFile() as err:
            with _running_lock:
                if _stopping.is_set():
                    raise Problem("interrupted")
                proc = subprocess.Popen(cmd, cwd=cwd, env=self.env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=err, start_new_session=(os.name == "posix"))
                _running.add(proc)
            timer = threading.Timer(remaining, expire, (proc,))
            timer.daemon = True
            timer.start()
            complete = False
            try:
                while True:
                    data = proc.stdout.read1(1 << 16)
                    if not data:
                        break
                    yield data
                complete = True
            finally:
                timer.cancel()
                if not complete:
                    _kill(proc)
                proc.stdout.close()
                proc.wait()
                with _running_lock:
                    _running.discard(proc)
            if expired.is_set():
                raise Problem(f"timed out: git {args[0]} took more than {self.timeout:g} s for this repository")
            if proc.returncode != 0:
                err.seek(0)
                raise GitFailed(args[0], err.read(1 << 16).decode("utf-8", "replace"))


# The git processes running now (each in its own session, so a Ctrl-C reaches them only through us).
_running, _running_lock, _stopping = set(), threading.Lock(), threading.Event()


def stop_all():
    """Kill every running git process, and start no more (after a Ctrl-C)."""
    with _running_lock:
        _stopping.set()
        for proc in list(_running):
            _kill(proc)


class GitFailed(Problem):
    def __init__(self, command, stderr):
        self.command, self.stderr = command, stderr
        super().__init__(f"git {command} failed: {condense(stderr)}")


def _kill(proc):
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)   # git and its helpers (git-remote-http, ssh) together
        else:
            proc.kill()
    except OSError:
        pass


_BOILERPLATE = ("Could not read from remote repository", "Please make sure you have the correct access rights",
                "and the repository exists")


def condense(stderr):
    """git's error output in one line: its fatal/error/remote lines without boilerplate, credentials masked."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.startswith("hint:")
             and not re.sub(r"^(fatal|error): ", "", line.strip()).startswith(_BOILERPLATE)]
    important = [line for line in lines if line.startswith(("fatal:", "error:", "remote: "))] or lines[-2:]
    text = "; ".join(re.sub(r"^(fatal|error): ", "", line) for line in important[:3])
    return mask(text)[:300] or "no message"


# ---------------------------------------------------------------- one student

def remote_head(git, url):
    """(default branch, its commit) from ``git ls-remote --symref``; Problem when unreadable or empty."""
    try:
        out = git("ls-remote", "--symref", url)
    except GitFailed as err:
        raise Problem(f"cannot read the repository (missing, private, or no access?): {condense(err.stderr)}") \
            from None
    target, head_sha, heads = None, None, {}
    for line in out.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            target = line[5:].split("\t")[0]
        elif "\t" in line:
            sha, name = line.split("\t", 1)
            if name == "HEAD":
                head_sha = sha
            elif name.startswith("refs/heads/"):
                heads[name[len("refs/heads/"):]] = sha
    if target and target.startswith("refs/heads/") and target[len("refs/heads/"):] in heads:
        branch = target[len("refs/heads/"):]
        return branch, heads[branch]
    if head_sha:
        same = sorted((b not in ("main", "master"), b) for b, sha in heads.items() if sha == head_sha)
        if same:
            return same[0][1], head_sha
    if not heads:
        raise Problem("the repository is empty: nothing has been pushed")
    raise Problem(f"the repository has no default branch (HEAD names {target or 'nothing'}); its branches: "
                  f"{', '.join(sorted(heads))}")


def existing_folder_problem(dest, shown, url, git):
    """Why ``dest`` (which exists) is not ours to update, or None when it is a clone of ``url``."""
    if os.path.islink(dest):
        return f"{shown} is a symbolic link: left alone (collect never follows links)"
    if not os.path.isdir(dest):
        return f"{shown} exists and is not a folder: left alone; move it away to collect this student"
    config = os.path.join(dest, ".git", "config")
    if os.path.islink(os.path.join(dest, ".git")) or os.path.islink(config) or not os.path.isfile(config):
        return f"{shown} exists and is not a git clone: left alone; move it away to collect this student"
    stored = git("config", "--file", config, "--get", "remote.origin.url", check=False).strip()
    if _same_remote(stored, url):
        return None
    return (f"{shown} is a clone of {mask(stored) or 'no repository'}, not of this student's repository: "
            f"left alone; move it away to collect this student")


def _same_remote(a, b):
    def norm(u):
        u = u.strip().rstrip("/")
        return u[:-4] if u.endswith(".git") else u
    return bool(a) and norm(a) == norm(b)


def github_name(url, settings):
    """(owner, repo) when push times come from GitHub's API for this repository, else None."""
    if is_url(url):
        if "://" in url:
            parts = urllib.parse.urlsplit(url)
            host, path = (parts.hostname or "").lower(), parts.path
        else:   # scp-like [user@]host:owner/repo.git
            host, path = url.split(":", 1)
            host = host.rsplit("@", 1)[-1].lower()
    else:
        host, path = "", url
    if not settings.api_everywhere and host != github_activity.web_host(settings.api):
        return None
    names = [p for p in re.split(r"[/\\]", path) if p]
    if len(names) < 2:
        return None
    repo = names[-1][:-4] if names[-1].endswith(".git") else names[-1]
    return (names[-2], repo) if repo else None


def commit_graph(git, cwd, starts):
    """(order, parents, dates): commits reachable from ``starts`` children first, their parents, committer dates."""
    out = git("log", "--ignore-missing", "--topo-order", "--format=%H %ct %P", *starts, "--", cwd=cwd)
    order, parents, dates = [], {}, {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            order.append(fields[0])
            dates[fields[0]] = datetime.datetime.fromtimestamp(int(fields[1]), datetime.timezone.utc)
            parents[fields[0]] = fields[2:]
    return order, parents, dates


def reachable(tip, parents):
    seen, stack = set(), [tip]
    while stack:
        commit = stack.pop()
        if commit in seen or commit not in parents:
            continue
        seen.add(commit)
        stack.extend(parents[commit])
    return seen


def commit_date_times(order, parents, dates):
    """{commit: the latest committer date of the commit and its ancestors}."""
    times = {}
    for commit in reversed(order):   # parents before children
        times[commit] = max([dates[commit]] + [times[p] for p in parents[commit] if p in times])
    return times


def push_times(pushes, parents):
    """{commit: the time of the earliest push whose new tip is the commit or a descendant of it}."""
    times = {}
    for when, after in pushes:       # oldest first: the first push to reach a commit sets its time
        stack = [after]
        while stack:
            commit = stack.pop()
            if commit in times or commit not in parents:
                continue
            times[commit] = when
            stack.extend(parents[commit])
    return times


def github_times(git, cwd, url, branch, tip, owner, repo, settings):
    """(push times, commit order, parents) from GitHub's recorded pushes; raises github_activity.ApiError."""
    remaining = max(1.0, git.until - time.monotonic())
    pushes = github_activity.pushes(github_activity.activities(settings.api, owner, repo, branch, settings.token,
                                                               timeout=min(30.0, remaining)), branch)
    afters = sorted({after for _, after in pushes})
    order, parents, _ = commit_graph(git, cwd, [tip] + afters)
    missing = [a for a in afters if a not in parents]
    if missing:   # tips that were force-pushed away: fetch them if the host still has them
        git("fetch", "--quiet", "--no-tags", url, *missing[:50], cwd=cwd, check=False)
        order, parents, _ = commit_graph(git, cwd, [tip] + afters)
    return push_times(pushes, parents), order, parents


def collect_student(entry, settings):
    """The manifest row (``manifest.Row``) of one student; never raises."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(student=entry.student, repo=mask(entry.repo), deadline=_iso(entry.deadline))
    problems = []
    try:
        _collect(entry, settings, row, problems)
    except Problem as err:
        problems.insert(0, str(err))
    except Exception as err:  # noqa: BLE001 - one student's surprise must not stop the class
        problems.insert(0, f"internal error: {type(err).__name__}: {mask(str(err))[:200]}")
    row["problems"] = "; ".join(problems)
    return manifest.Row.parse(row)


def _collect(entry, settings, row, problems):
    partial = os.path.join(settings.out, PARTIAL + entry.student)
    try:
        _collect_into(entry, settings, row, problems, partial)
    finally:
        if os.path.lexists(partial):   # an interrupted first clone: nothing of it is kept
            _remove_ours(partial)


def _collect_into(entry, settings, row, problems, partial):
    if not entry.url:
        raise Problem("no repository in the roster")
    git = Git(settings.timeout)
    dest = os.path.join(settings.out, entry.student)
    shown = os.path.join(settings.shown_out, entry.student)
    fresh = not os.path.lexists(dest)
    if not fresh:
        reason = existing_folder_problem(dest, shown, entry.url, git)
        if reason:
            raise Problem(reason)
    try:
        branch, _ = remote_head(git, entry.url)
    except Problem as err:
        if not fresh:
            raise Problem(f"{err}; {shown} still holds what an earlier run collected") from None
        raise
    row["branch"] = branch
    work = partial if fresh else dest
    if fresh:
        _remove_ours(work)
        args = ["clone", "--quiet", "--no-checkout", "--no-tags", "--single-branch", "--branch", branch]
        args += ["--no-local"] if not is_url(entry.url) else []
        args += [a for kv in CLONE_CONFIG for a in ("-c", kv)]
        git(*args, "--", entry.url, work)
    else:
        git("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", entry.url,
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}", cwd=work)
    tip = git("rev-parse", "--verify", f"refs/remotes/origin/{branch}^{{commit}}", cwd=work).strip()

    source, times, order, parents = COMMIT_DATE, None, None, None
    name = github_name(entry.url, settings)
    if name and not settings.token:
        problems.append("commit dates used (no GitHub token for push times)")
    elif name:
        try:
            times, order, parents = github_times(git, work, entry.url, branch, tip, *name, settings)
            source = GITHUB_PUSH
        except github_activity.ApiError as err:
            problems.append(f"push times unavailable ({err}): commit dates used")
    if times is None:
        order, parents, dates = commit_graph(git, work, [tip])
        times = commit_date_times(order, parents, dates)
    history = reachable(tip, parents)
    position = {commit: i for i, commit in enumerate(order)}
    cutoff = entry.deadline + (settings.grace if settings.on_time_only else max(settings.window, settings.grace))
    eligible = [(times[c], -position[c], c) for c in history if c in times and times[c] <= cutoff]
    if source == GITHUB_PUSH:
        unrecorded = [c for c in history if c not in times]
        if unrecorded:
            problems.append(f"GitHub recorded no push of {len(unrecorded)} commit(s) of {branch} (the newest: "
                            f"{min(unrecorded, key=position.get)[:10]}); they count as not pushed")
    row["time_source"] = source
    if eligible:
        when, _, commit = max(eligible)
        too_large = checkout_problem(git, work, commit, settings.limits)
        if too_large:
            git("read-tree", "--empty", cwd=work)    # nothing of an earlier run's checkout is graded either
            git("clean", "-ffdxq", cwd=work)
            raise Problem(too_large)
        git("checkout", "--quiet", "--force", "--detach", commit, cwd=work)
        git("clean", "-ffdxq", cwd=work)
        late = max(0.0, (when - entry.deadline).total_seconds() / 60)
        row.update(commit=commit, pushed_at=_iso(when.astimezone(datetime.timezone.utc)),
                   minutes_late=_tenths(late), on_time="yes" if late * 60 <= settings.grace.total_seconds() else "no")
        problems.extend(_odd_entries(git, work, commit))
    else:
        git("read-tree", "--empty", cwd=work)        # nothing to grade: an empty working tree
        git("clean", "-ffdxq", cwd=work)
        verb = "pushed" if source == GITHUB_PUSH else "committed"
        timed = [times[c] for c in history if c in times]
        first = f" (the first was {verb} {_days(min(timed) - entry.deadline)} after the deadline)" if timed else ""
        row["on_time"] = "no"
        problems.insert(0, f"no commit of {branch} was {verb} by {_iso(cutoff)}{first}")
    if fresh:
        os.rename(work, dest)


def checkout_problem(git, cwd, commit, limits=None):
    """Why checking out ``commit`` would write too much (one sentence), or None.

    Adds up the size of every blob at every path of the commit's tree (a blob
    under ten names is checked out ten times; a link is a small file here) and
    counts files and folders, reading ``git ls-tree`` as it streams and
    stopping at the first bound crossed: ``limits.repository_mb`` and
    ``limits.repository_files`` (default ``MAX_REPOSITORY_ENTRIES``).
    """
    if limits is None:
        from autograder.rubric import Limits
        limits = Limits()
    max_bytes = int(limits.repository_mb * 2**20)
    max_entries = int(getattr(limits, "repository_files", MAX_REPOSITORY_ENTRIES))
    entries_limit = ("limits.repository_files in grading.yml" if hasattr(limits, "repository_files")
                     else "collect's limit for one repository")
    total = entries = 0
    buffer = b""
    output = git.stream("ls-tree", "-r", "-t", "-l", "-z", "--full-tree", commit, cwd=cwd)
    try:
        for chunk in output:
            records = (buffer + chunk).split(b"\0")
            buffer = records.pop()
            if len(buffer) > 1 << 16:
                return f"too large: the tree of {commit[:10]} has a path longer than 64 KB; nothing checked out"
            for record in records:
                meta = record.split(b"\t", 1)[0].split()
                if len(meta) < 4:
                    continue
                entries += 1
                if meta[1] == b"blob" and meta[3].isdigit():
                    total += int(meta[3])
                if entries > max_entries:
                    return (f"too large: commit {commit[:10]} would check out more than {max_entries} files and "
                            f"folders (the limit is {entries_limit}); nothing checked out")
                if total > max_bytes:
                    return (f"too large: commit {commit[:10]} would check out more than {limits.repository_mb:g} MB "
                            f"of files (every path counts, one blob under many names too; the limit is "
                            f"limits.repository_mb in grading.yml); nothing checked out")
    finally:
        output.close()
    return None


def _odd_entries(git, cwd, commit):
    """Notes on what the checkout leaves out: symbolic links (plain files here) and submodules."""
    out = git("ls-tree", "-r", "-z", "--full-tree", commit, cwd=cwd)
    modes = [item.split(" ", 1)[0] for item in out.split("\0") if item]
    notes = []
    if modes.count("120000"):
        notes.append(f"{modes.count('120000')} symbolic link(s) checked out as plain files")
    if modes.count("160000"):
        notes.append(f"{modes.count('160000')} submodule(s) not collected")
    return notes


def _remove_ours(path):
    """Remove a leftover OUT/.partial-<student> of an interrupted run (never following a link)."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _iso(value):
    return value.isoformat(timespec="seconds")


def _tenths(value):
    return number(value, 1)


def _days(delta):
    """A duration as people say it: 15 minutes, 26.5 hours, 5 days."""
    minutes = delta.total_seconds() / 60
    if abs(minutes) < 120:
        return f"{_tenths(minutes)} minutes"
    return f"{_tenths(minutes / 60)} hours" if abs(minutes) < 48 * 60 else f"{_tenths(minutes / 1440)} days"


# ---------------------------------------------------------------- the class

def _describe(row):
    if not row.commit:
        return f"not collected: {row.problems}"
    late = ("on time" if not row.minutes_late else f"{_tenths(row.minutes_late)} min late"
            + (", within the grace period" if row.on_time else ""))
    verb = "pushed" if row.time_source == GITHUB_PUSH else "committed"
    text = f"{row.commit[:10]} {verb} {row.pushed_at} ({row.time_source}), {late}"
    return text + (f"; {row.problems}" if row.problems else "")


def _api_settings(args):
    if args.github_api:
        parts = urllib.parse.urlsplit(args.github_api)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"--github-api {args.github_api!r} is not an http(s) URL, e.g. https://HOST/api/v3")
        return args.github_api.rstrip("/"), True
    return (os.environ.get("GITHUB_API_URL") or github_activity.PUBLIC_API).rstrip("/"), False


def run_collect(args):
    from autograder import rubric as rubric_mod

    _stopping.clear()
    deadline = parse_deadline(args.deadline, "--deadline")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    api, everywhere = _api_settings(args)
    entries = read_roster(args.roster, deadline)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a file: give a folder for the collected repositories")
    if not shutil.which("git"):
        raise UsageError("git is not installed (collect runs git to clone the repositories)")
    rubric = rubric_mod.load(args.rubric) if args.rubric else rubric_mod.load()
    policy = rubric.late
    window = datetime.timedelta(minutes=policy.window_minutes if policy else 0)
    grace = datetime.timedelta(minutes=policy.grace_minutes if policy else 0)
    shown = args.out.rstrip("/") or "/"
    probe = Settings(args.out, shown, window, grace, args.on_time_only, args.timeout, api, everywhere, None)
    on_github = [e for e in entries if e.url and github_name(e.url, probe)]
    token = github_activity.token(api) if on_github else None
    settings = dataclasses.replace(probe, out=os.path.abspath(args.out), token=token, limits=rubric.limits)
    os.makedirs(settings.out, exist_ok=True)

    if args.on_time_only:
        rule = f"the last commit by the deadline{f' plus {_days(grace)} of grace' if grace else ''}"
    else:
        rule = (f"late work up to {_days(window)} after it (the rubric's late policy)" if window
                else "no late work (no late policy in the rubric)")
    print(f"Collecting {len(entries)} repositories, {args.jobs} at a time, into {shown}/: deadline "
          f"{_iso(deadline)}, {rule}", flush=True)
    if on_github and not token:
        print(f"No GitHub token (GH_TOKEN, GITHUB_TOKEN or `gh auth login`): the {len(on_github)} GitHub "
              f"repositories are timed by their commit dates, which students can set.", file=sys.stderr)
    rows = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = [pool.submit(collect_student, entry, settings) for entry in entries]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            row = future.result()
            rows.append(row)
            print(f"[{done}/{len(entries)}] {row.student}: {_describe(row)}", flush=True)
    except KeyboardInterrupt:
        stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        print("interrupted: no manifest written; run the same command again to resume", file=sys.stderr)
        return 130
    pool.shutdown()
    rows.sort(key=lambda r: r.student)
    manifest.write(settings.out, rows)

    collected = [r for r in rows if r.commit]
    late = [r for r in collected if not r.on_time]
    troubled = [r.student for r in rows if r.problems]
    sources = {s: sum(r.time_source == s for r in collected) for s in (GITHUB_PUSH, COMMIT_DATE)}
    print(f"Collected {len(collected)} of {len(rows)} into {shown}/ ({len(collected) - len(late)} on time, "
          f"{len(late)} late; times: {sources[GITHUB_PUSH]} GitHub push, {sources[COMMIT_DATE]} commit date); "
          f"wrote {os.path.join(shown, manifest.FILE)}")
    if troubled:
        print(f"{len(troubled)} with problems (see the problems column): {', '.join(troubled)}", file=sys.stderr)
    known = {e.student for e in entries}
    strays = sorted(d for d in os.listdir(settings.out) if os.path.isdir(os.path.join(settings.out, d))
                    and not d.startswith(".") and d not in known)
    if strays:
        print(f"{shown}/ also holds folders of students not in the roster (left alone; grade-all grades "
              f"them too): {', '.join(strays)}", file=sys.stderr)
    return 0
