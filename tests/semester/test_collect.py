"""collect: a class's repositories as they stood at the deadline, with real git and no network.

Remotes are local bare repositories whose commits carry chosen dates; push
times come from a small local HTTP server that answers like GitHub's
repository activity API (JSON list, Link-header pagination, 401, 404),
read by collect's real client (``--github-api http://127.0.0.1:PORT``).
"""
import base64
import csv
import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from support import ROOT, offline_env

pytestmark = pytest.mark.slow

DEADLINE = "2026-12-01T23:59:00+01:00"
D = datetime.datetime.fromisoformat(DEADLINE)
TOKEN = "ghp_test_token_never_to_be_printed_0123456789"


def at(hours):
    """The deadline plus ``hours``, in UTC ISO 8601."""
    return (D + datetime.timedelta(hours=hours)).astimezone(datetime.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- git remotes with chosen dates

@pytest.fixture(scope="module")
def gitconfig(tmp_path_factory):
    """(plain, hostile): a config to make test commits with, and the instructor config collect runs under.

    The hostile one enables hooks both ways (core.hooksPath and a template) and
    submodule recursion: collect must override all of it.
    """
    base = tmp_path_factory.mktemp("gitconfig")
    plain = base / "plain.gitconfig"
    plain.write_text("[user]\n\tname = Student\n\temail = s@example.edu\n[init]\n\tdefaultBranch = main\n")
    hooks = base / "hooks"
    (base / "template" / "hooks").mkdir(parents=True)
    hooks.mkdir()
    marker = base / "HOOK_RAN"
    for folder in (hooks, base / "template" / "hooks"):
        for name in ("post-checkout", "post-merge", "reference-transaction"):
            hook = folder / name
            hook.write_text(f"#!/bin/sh\necho \"$PWD\" >> {marker}\n")
            hook.chmod(0o755)
    hostile = base / "hostile.gitconfig"
    hostile.write_text(plain.read_text() + f"[core]\n\thooksPath = {hooks}\n[init]\n\ttemplateDir = "
                                           f"{base / 'template'}\n[submodule]\n\trecurse = true\n")
    return plain, hostile, marker


class Remote:
    """A bare repository (the student's remote) and a working copy to commit from."""

    def __init__(self, folder, name, config):
        folder.mkdir(parents=True, exist_ok=True)
        self.bare = folder / f"{name}.git"
        self.work = folder / f".work-{name}"
        self.env = offline_env(GIT_CONFIG_GLOBAL=str(config), GIT_CONFIG_NOSYSTEM="1")
        self.git("init", "-q", "--bare", "-b", "main", str(self.bare), cwd=folder)
        self.git("init", "-q", "-b", "main", str(self.work), cwd=folder)
        self.count = 0

    def git(self, *args, cwd=None, **env):
        return subprocess.run(["git", *args], cwd=cwd or self.work, env={**self.env, **env}, check=True,
                              capture_output=True, text=True, timeout=60).stdout.strip()

    def commit(self, hours, dated=None, files=None):
        """A commit at deadline + ``hours`` (or dated ``dated`` hours, a forged date); returns its SHA."""
        self.count += 1
        for rel, text in (files or {"lab6_generative/vae.py": f"# version {self.count}\n"}).items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, tuple):      # ("link", target): a symbolic link
                os.symlink(text[1], path)
            else:
                path.write_text(text)
        when = at(hours if dated is None else dated)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"version {self.count}", GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
        return self.git("rev-parse", "HEAD")

    def push(self, force=False):
        self.git("push", "-q", *(["--force"] if force else []), str(self.bare), "HEAD:refs/heads/main")

    def reset(self, sha):
        self.git("reset", "-q", "--hard", sha)


def rubric(tmp_path, late):
    """This repository's rubric with the given late policy (None: no policy)."""
    data = yaml.safe_load((ROOT / "grading.yml").read_text())
    data.pop("late", None)
    if late:
        data["late"] = late
    path = tmp_path / f"grading-{'late' if late else 'none'}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


POLICY = {"grace_minutes": 15, "penalty_per_day": 10, "max_days": 2}   # late work collected up to 48 h


def write_roster(path, rows, header=("student", "repo", "extension", "email", "sis_id")):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_manifest(out):
    with open(out / "manifest.csv", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


@pytest.fixture
def collect_env(monkeypatch, gitconfig, tmp_path):
    """collect in this process: the hostile instructor config, no tokens, gh without a login, no proxy."""
    _, hostile, _ = gitconfig
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(hostile))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GH_CONFIG_DIR", str(tmp_path / "gh-config"))
    for name in ("GH_TOKEN", "GITHUB_TOKEN", "GITHUB_API_URL", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN",
                 "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return monkeypatch


def collect(capsys, *args):
    """``python -m autograder collect ARGS`` in this process: (exit code, stdout, stderr)."""
    from autograder import cli

    code = cli.main(["collect", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- a local server speaking GitHub's API

class FakeGitHub:
    """GitHub's ``GET /repos/{owner}/{repo}/activity`` (and a git host that asks for a password, or hangs).

    Activities are answered newest first, ``PAGE`` per page at most, further
    pages named by a cursor in the Link header (``rel="next"``), as GitHub
    does; a wrong token gets 401 "Bad credentials", an unknown repository 404.
    """

    PAGE = 2

    def __init__(self, token):
        self.token, self.repos, self.ids, self.requests = token, {}, {}, []
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def push(self, repo, after, hours, before="0" * 40, kind="push"):
        events = self.repos.setdefault(repo, [])
        if repo not in self.ids.values():
            self.ids[1000 + len(self.ids)] = repo
        events.append({"id": 4000 + len(events), "node_id": f"RA_kw{len(events)}", "before": before, "after": after,
                       "ref": "refs/heads/main", "timestamp": at(hours).replace("+00:00", "Z"),
                       "activity_type": kind,
                       "actor": {"login": repo.split("/")[1], "id": 7, "node_id": "U_7", "type": "User",
                                 "site_admin": False}})

    def _json(self, handler, status, body, headers=()):
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler):
        parts = urllib.parse.urlsplit(handler.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query).items()}
        self.requests.append((parts.path, query, {k.lower(): v for k, v in handler.headers.items()}))
        if parts.path.startswith("/hang/"):           # a git host that never answers
            self.release.wait(30)
            return
        if parts.path.startswith("/private/"):        # a git host that asks for a password
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)/activity", parts.path)
        by_id = re.fullmatch(r"/repositories/(\d+)/activity", parts.path)
        repo = f"{match.group(1)}/{match.group(2)}" if match else self.ids.get(int(by_id.group(1))) if by_id else None
        if handler.headers.get("Authorization") not in (f"Bearer {self.token}", f"token {self.token}"):
            return self._json(handler, 401, {"message": "Bad credentials",
                                             "documentation_url": "https://docs.github.com/rest", "status": "401"})
        if repo not in self.repos:
            return self._json(handler, 404, {"message": "Not Found", "documentation_url":
                                             "https://docs.github.com/rest/repos/repos#list-repository-activities",
                                             "status": "404"})
        ref = query.get("ref", "")
        events = [e for e in self.repos[repo] if not ref or e["ref"] in (ref, f"refs/heads/{ref}")]
        events.sort(key=lambda e: e["timestamp"], reverse=query.get("direction", "desc") == "desc")
        per_page = min(int(query.get("per_page", 30)), 100, self.PAGE)
        start = int(base64.urlsafe_b64decode(query["after"]).decode().split(":")[1]) if "after" in query else 0
        headers = []
        if start + per_page < len(events):
            cursor = base64.urlsafe_b64encode(f"cursor:{start + per_page}".encode()).decode()
            repo_id = next(i for i, name in self.ids.items() if name == repo)
            nxt = urllib.parse.urlencode({"ref": ref, "per_page": per_page, "after": cursor})
            headers.append(("Link", f'<{self.url}/repositories/{repo_id}/activity?{nxt}>; rel="next"'))
        self._json(handler, 200, events[start:start + per_page], headers)


@pytest.fixture(scope="module")
def github():
    server = FakeGitHub(TOKEN)
    yield server
    server.close()


# ---------------------------------------------------------------- a class on plain git hosts (commit dates)

@pytest.fixture(scope="module")
def klass(tmp_path_factory, gitconfig):
    """A class whose remotes are local bare repositories, and its roster (with LMS columns).

    Each test collects into its own folder; only rae's remote changes (the resume test).
    """
    plain, _, _ = gitconfig
    base = tmp_path_factory.mktemp("class")
    repos = base / "remotes"
    r = {name: Remote(repos, name, plain)
         for name in ("ana", "ben", "cy", "dee", "eve", "hal", "jo", "kim", "max", "rae")}
    sha = {}
    r["ana"].commit(-48)
    sha["ana"] = r["ana"].commit(-1)                      # on time
    sha["ben_on_time"] = r["ben"].commit(-24)
    sha["ben"] = r["ben"].commit(10)                      # 10 hours late, within the 2-day window
    sha["cy"] = r["cy"].commit(-5)
    r["cy"].commit(72)                                    # after the window: not collected
    r["dee"].commit(-2)
    sha["dee"] = r["dee"].commit(30)                      # on time with a 48-hour extension
    sha["eve_on_time"] = r["eve"].commit(40)              # on time with her new deadline (D + 61 h)
    sha["eve"] = r["eve"].commit(70)                      # 9 hours after her new deadline
    r["hal"].commit(100)                                  # nothing before the window closed
    sha["jo"] = r["jo"].commit(10 / 60)                   # 10 minutes late: within the 15-minute grace
    sha["kim"] = r["kim"].commit(-3, files={"lab6_generative/vae.py": "x = 1\n", "escape": ("link", "/etc/passwd"),
                                            "up": ("link", "../../..")})
    sha["max"] = r["max"].commit(-3)
    sha["rae"] = r["rae"].commit(-10)
    for remote in r.values():
        remote.push()
    Remote(repos, "gus", plain)                           # an empty repository
    roster = write_roster(base / "roster.csv", [
        ["ana", "remotes/ana.git", "", "ana@uni.edu", "S1"],
        ["ben", str(r["ben"].bare), "", "ben@uni.edu", "S2"],
        ["cy", "remotes/cy.git", "", "", "S3"],
        ["dee", "remotes/dee.git", "48", "", ""],
        ["eve", "remotes/eve.git", "2026-12-04T11:59:00Z", "", ""],
        ["fay", "remotes/missing.git", "", "", ""],
        ["gus", "remotes/gus.git", "", "", ""],
        ["hal", "remotes/hal.git", "", "", ""],
        ["ivy", "", "", "ivy@uni.edu", ""],
        ["jo", "remotes/jo.git", "", "", ""],
        ["kim", "remotes/kim.git", "", "", ""],
        ["lee", "remotes/ana.git", "", "", ""],
        ["max", "remotes/max.git", "", "", ""],
        ["rae", "remotes/rae.git", "", "", ""],
    ])
    return base, roster, r, sha


def test_a_class_is_collected_at_the_deadline_with_late_work(klass, gitconfig, github, tmp_path):
    """The CLI end to end: on time, late within the window, too late, extensions, grace, every kind of failure."""
    base, roster, remotes, sha = klass
    _, hostile, marker = gitconfig
    out = base / "collected"
    (out / "lee").mkdir(parents=True)
    (out / "lee" / "notes.txt").write_text("the instructor's own notes")    # not a clone: left alone
    remotes["ana"].git("clone", "-q", str(remotes["ana"].bare), str(out / "max"))   # a clone of another repository
    full = base / "roster-full.csv"
    full.write_text(roster.read_text())
    with open(full, "a", newline="") as f:
        csv.writer(f).writerows([["ogg", f"{github.url}/private/ogg.git", "", "", ""],
                                 ["pam", f"{github.url}/hang/pam.git", "", "", ""],
                                 ["sam", "remotes/ana.git", "", "", ""]])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "sam")                                       # a link out of collected/
    env = offline_env(GIT_CONFIG_GLOBAL=str(hostile), GIT_CONFIG_NOSYSTEM="1", no_proxy="127.0.0.1",
                      NO_PROXY="127.0.0.1", GH_CONFIG_DIR=str(tmp_path / "gh"))
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "autograder", "collect", full.name, "--deadline", DEADLINE,
                           "--out", "collected", "--jobs", "4", "--timeout", "4",
                           "--rubric", rubric(tmp_path, POLICY)], cwd=base, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for student in ("ana", "ben", "fay", "gus", "ogg", "pam"):
        assert re.search(rf"^\[\d+/17\] {student}: ", proc.stdout, re.M), proc.stdout
    assert "Collected 8 of 17" in proc.stdout

    rows = read_manifest(out)
    assert list(rows) == sorted(rows) and len(rows) == 17
    with open(out / "manifest.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header[:2] == ["student", "repo"] and {"commit", "pushed_at", "deadline", "minutes_late", "on_time",
                                                   "time_source", "problems"} <= set(header)

    def check(student, commit, minutes, on_time, deadline=DEADLINE):
        row = rows[student]
        assert (row["commit"], row["minutes_late"], row["on_time"]) == (commit, minutes, on_time), row
        assert datetime.datetime.fromisoformat(row["deadline"]) == datetime.datetime.fromisoformat(deadline)
        assert row["time_source"] == "commit-date" and row["branch"] == "main"
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=out / student, capture_output=True, text=True)
        assert head.stdout.strip() == commit
        assert (out / student / "lab6_generative" / "vae.py").is_file()

    check("ana", sha["ana"], "0", "yes")
    assert rows["ana"]["pushed_at"] == at(-1) and rows["ana"]["problems"] == ""
    check("ben", sha["ben"], "600", "no")
    check("cy", sha["cy"], "0", "yes")
    check("dee", sha["dee"], "0", "yes", deadline=at(48))
    check("eve", sha["eve"], "540", "no", deadline="2026-12-04T11:59:00+00:00")
    check("jo", sha["jo"], "10", "yes")
    check("kim", sha["kim"], "0", "yes")
    assert "2 symbolic link(s) checked out as plain files" in rows["kim"]["problems"]
    for link in ("escape", "up"):
        assert not (out / "kim" / link).is_symlink() and (out / "kim" / link).is_file()
    assert (out / "kim" / "escape").read_text() == "/etc/passwd"

    def problem(student, text):
        assert text in rows[student]["problems"], rows[student]
        assert rows[student]["commit"] == ""
    problem("fay", "cannot read the repository")
    problem("gus", "the repository is empty")
    problem("hal", "no commit of main was committed by 2026-12-03T23:59:00+01:00")
    assert (out / "hal" / ".git").is_dir() and os.listdir(out / "hal") == [".git"], "nothing to grade"
    problem("ivy", "no repository in the roster")
    problem("lee", "collected/lee exists and is not a git clone: left alone")
    assert os.listdir(out / "lee") == ["notes.txt"]
    problem("max", "is a clone of")
    assert subprocess.run(["git", "rev-parse", "HEAD"], cwd=out / "max", capture_output=True,
                          text=True).stdout.strip() != sha["max"], "the other clone is left as it was"
    problem("sam", "collected/sam is a symbolic link: left alone")
    assert os.listdir(elsewhere) == [], "nothing written through the link"
    problem("ogg", "terminal prompts disabled")
    problem("pam", "timed out")
    assert not marker.exists(), "no hook ran"
    # killed with git's process group; a helper reparented before it was scheduled to die may take a moment
    gone_by = time.monotonic() + 10
    while _processes_mentioning(f"{github.url}/hang/") and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert not _processes_mentioning(f"{github.url}/hang/"), "the timed-out git and its helpers are gone"
    assert not [p for p in os.listdir(out) if p.startswith(".")], "no temporary files or partial clones left"
    assert not (out / "fay").exists() and not (out / "pam").exists()


def _processes_mentioning(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


def test_a_second_run_fetches_and_gives_the_same_result(klass, collect_env, capsys, tmp_path):
    base, roster, remotes, sha = klass
    out = base / "resumed"
    args = [roster, "--deadline", DEADLINE, "--out", out, "--rubric", rubric(tmp_path, POLICY)]
    assert collect(capsys, *args)[0] == 0
    first = (out / "manifest.csv").read_bytes()
    (out / "rae" / ".git" / "kept").write_text("a marker a new clone would not have")
    (out / "rae" / "outputs").mkdir()
    (out / "rae" / "outputs" / "stray.txt").write_text("left by someone")
    assert collect(capsys, *args)[0] == 0
    assert (out / "manifest.csv").read_bytes() == first, "same remote state, same manifest"
    assert not (out / "rae" / "outputs").exists(), "the folder is exactly the commit"

    newer = remotes["rae"].commit(-0.5)                       # pushed before the second collection
    remotes["rae"].push()
    code, stdout, _ = collect(capsys, *args)
    assert code == 0
    rows = read_manifest(out)
    assert rows["rae"]["commit"] == newer and rows["rae"]["pushed_at"] == at(-0.5)
    assert (out / "rae" / ".git" / "kept").exists(), "fetched into the same clone, not cloned again"
    assert rows["ben"]["commit"] == sha["ben"]


def test_on_time_only_and_no_late_policy(klass, collect_env, capsys, tmp_path):
    base, roster, _, sha = klass
    code, stdout, _ = collect(capsys, roster, "--deadline", DEADLINE, "--out", base / "strict", "--on-time-only",
                              "--rubric", rubric(tmp_path, POLICY))
    assert code == 0 and "the last commit by the deadline plus 15 minutes of grace" in stdout
    rows = read_manifest(base / "strict")
    assert (rows["ben"]["commit"], rows["ben"]["minutes_late"]) == (sha["ben_on_time"], "0")
    assert (rows["eve"]["commit"], rows["eve"]["on_time"]) == (sha["eve_on_time"], "yes")
    assert rows["jo"]["commit"] == sha["jo"], "the grace period counts as on time"
    assert "no commit of main was committed by 2026-12-02T00:14:00+01:00" in rows["hal"]["problems"]

    code, stdout, _ = collect(capsys, roster, "--deadline", DEADLINE, "--out", base / "nopolicy",
                              "--rubric", rubric(tmp_path, None))
    assert code == 0 and "no late work (no late policy in the rubric)" in stdout
    rows = read_manifest(base / "nopolicy")
    assert rows["ben"]["commit"] == sha["ben_on_time"] and rows["dee"]["commit"] == sha["dee"]
    assert rows["jo"]["commit"] == "", "no policy: no grace either"


def test_the_manifest_is_what_grade_all_and_nbgrader_read(klass, collect_env, capsys, tmp_path):
    from autograder.semester import final_grades
    from autograder import rubric as rubric_mod
    from release import submitted

    base, roster, _, _ = klass
    out = base / "for-grading"
    path = rubric(tmp_path, POLICY)
    assert collect(capsys, roster, "--deadline", DEADLINE, "--out", out, "--rubric", path)[0] == 0
    manifest = final_grades.read_manifest(str(out))
    assert manifest["ben"].minutes_late == 600 and manifest["ana"].minutes_late == 0
    finals = final_grades.combine(rubric_mod.load(str(path)), {"ana": 90, "ben": 90, "cy": 90}, manifest)
    assert (finals["ana"].penalty, finals["ben"].penalty, finals["cy"].penalty) == (0, 10, 0)

    course = tmp_path / "course"
    students = submitted.lay_out(str(out), str(course))
    assert "ana" in students and not [s for s in students if s.startswith(".")]
    stamp = (course / "submitted" / "ben" / "lab6" / "timestamp.txt").read_text()
    assert stamp == at(10).replace("T", " ") + "\n"


# ---------------------------------------------------------------- push times from GitHub's activity API

@pytest.fixture(scope="module")
def pushed_class(tmp_path_factory, gitconfig, github):
    """Repositories 'on GitHub' (local remotes under org/, their pushes recorded by the fake API)."""
    plain, _, _ = gitconfig
    base = tmp_path_factory.mktemp("github")
    org = base / "gh" / "org"
    sha = {}
    mal = Remote(org, "mal", plain)
    sha["mal_honest"] = mal.commit(-24)
    mal.push()
    github.push("org/mal", sha["mal_honest"], -23.9, kind="branch_creation")
    sha["mal_forged"] = mal.commit(30, dated=-2)       # written and pushed 30 h late, dated 2 h before the deadline
    mal.push()
    github.push("org/mal", sha["mal_forged"], 30, before=sha["mal_honest"])
    sha["mal_too_late"] = mal.commit(100, dated=-1)    # pushed after the window, dated before the deadline
    mal.push()
    github.push("org/mal", sha["mal_too_late"], 100, before=sha["mal_forged"])

    nat = Remote(org, "nat", plain)
    first = nat.commit(-50)
    nat.push()
    github.push("org/nat", first, -50, kind="branch_creation")
    second = nat.commit(-45)
    nat.push()
    github.push("org/nat", second, -45, before=first)
    gone = nat.commit(-40)
    nat.push()
    github.push("org/nat", gone, -40, before=second)
    nat.reset(second)                                  # rewritten history: a force push drops `gone`
    sha["nat_a"] = nat.commit(-30)
    sha["nat_b"] = nat.commit(-20)                     # pushed together with nat_a
    nat.push(force=True)
    github.push("org/nat", sha["nat_b"], -20, before=gone, kind="force_push")
    sha["nat"] = nat.commit(-1)
    nat.push()
    github.push("org/nat", sha["nat"], -0.9, before=sha["nat_b"])   # 5 activities, 3 pages of 2

    oz = Remote(org, "oz", plain)
    sha["oz"] = oz.commit(-5)
    oz.push()
    github.push("org/oz", sha["oz"], -5, kind="branch_creation")
    oz.commit(-4)
    oz.push()                                          # a push GitHub's activity does not show (yet)

    zed = Remote(org, "zed", plain)                    # a repository the API does not know: 404
    sha["zed"] = zed.commit(-3)
    zed.push()
    roster = write_roster(base / "roster.csv", [[name, f"gh/org/{name}.git", "", "", ""]
                                                    for name in ("mal", "nat", "oz", "zed")])
    return roster, sha


def test_push_times_from_github_beat_forged_commit_dates(pushed_class, github, collect_env, capsys, tmp_path):
    roster, sha = pushed_class
    collect_env.setenv("GH_TOKEN", TOKEN)
    out = tmp_path / "collected"
    asked = len(github.requests)
    code, stdout, stderr = collect(capsys, roster, "--deadline", DEADLINE, "--out", out, "--github-api", github.url,
                                   "--rubric", rubric(tmp_path, POLICY))
    assert code == 0, stderr
    rows = read_manifest(out)
    mal = rows["mal"]
    assert (mal["commit"], mal["time_source"]) == (sha["mal_forged"], "github-push"), mal
    assert mal["pushed_at"] == at(30) and mal["minutes_late"] == "1800" and mal["on_time"] == "no"
    assert mal["problems"] == ""
    nat = rows["nat"]
    assert (nat["commit"], nat["pushed_at"], nat["on_time"]) == (sha["nat"], at(-0.9), "yes")
    assert rows["oz"]["commit"] == sha["oz"] and "GitHub recorded no push of 1 commit(s)" in rows["oz"]["problems"]
    zed = rows["zed"]
    assert (zed["commit"], zed["time_source"]) == (sha["zed"], "commit-date")
    assert "GitHub API: 404 Not Found" in zed["problems"] and "commit dates used" in zed["problems"]

    nat_id = next(i for i, name in github.ids.items() if name == "org/nat")
    first = [q for p, q, _ in github.requests[asked:] if p == "/repos/org/nat/activity"]
    later = [q for p, q, _ in github.requests[asked:] if p == f"/repositories/{nat_id}/activity"]
    assert len(first) == 1 and first[0]["ref"] == "refs/heads/main" and "after" not in first[0]
    assert len(later) == 2 and all(q.get("after") for q in later), "the Link header is followed to the end"
    headers = github.requests[asked][2]
    assert headers["authorization"] == f"Bearer {TOKEN}" and headers["x-github-api-version"] == "2022-11-28"
    assert TOKEN not in stdout + stderr + (out / "manifest.csv").read_text()

    # Even with the earlier commit pushed later, --on-time-only takes what was pushed by the deadline.
    code, _, _ = collect(capsys, roster, "--deadline", DEADLINE, "--out", tmp_path / "strict", "--on-time-only",
                         "--github-api", github.url, "--rubric", rubric(tmp_path, POLICY))
    assert read_manifest(tmp_path / "strict")["mal"]["commit"] == sha["mal_honest"]


def test_without_push_times_commit_dates_are_used_and_said(pushed_class, github, collect_env, capsys, tmp_path):
    roster, sha = pushed_class
    args = ["--deadline", DEADLINE, "--github-api", github.url, "--rubric", rubric(tmp_path, POLICY)]
    collect_env.setenv("GH_TOKEN", "a-revoked-token")
    code, stdout, stderr = collect(capsys, roster, "--out", tmp_path / "rejected", *args)
    assert code == 0
    mal = read_manifest(tmp_path / "rejected")["mal"]
    assert (mal["commit"], mal["time_source"]) == (sha["mal_too_late"], "commit-date"), "forged dates fool commit dates"
    assert "GitHub API: 401 Bad credentials" in mal["problems"] and "a-revoked-token" not in stdout + stderr

    collect_env.delenv("GH_TOKEN")
    asked = len(github.requests)
    code, stdout, stderr = collect(capsys, roster, "--out", tmp_path / "anonymous", *args)
    assert code == 0 and "No GitHub token" in stderr
    rows = read_manifest(tmp_path / "anonymous")
    assert all(row["time_source"] == "commit-date" and "no GitHub token" in row["problems"] for row in rows.values())
    assert len(github.requests) == asked, "no token: the API is not asked"


def test_which_repositories_are_timed_by_github():
    from autograder.semester import collect as collect_mod

    def settings(api, everywhere=False):
        return collect_mod.Settings("out", "out", None, None, False, 1.0, api, everywhere, None)

    public, enterprise = settings("https://api.github.com"), settings("https://git.uni.edu/api/v3")
    for url in ("https://github.com/org/ana.git", "git@github.com:org/ana.git", "ssh://git@github.com/org/ana",
                "https://x-access-token@github.com/org/ana/"):
        assert collect_mod.github_name(url, public) == ("org", "ana"), url
        assert collect_mod.github_name(url, enterprise) is None, url
    assert collect_mod.github_name("https://git.uni.edu/course/ana.git", enterprise) == ("course", "ana")
    for other in ("https://gitlab.com/org/ana.git", "/srv/git/org/ana.git", "https://github.com/ana"):
        assert collect_mod.github_name(other, public) is None, other
    assert collect_mod.github_name("/srv/git/org/ana.git", settings("http://127.0.0.1:1", True)) == ("org", "ana")
    assert collect_mod.mask("https://ana:hunter2@git.uni.edu/x https://ghp_abc@github.com/y") == \
        "https://***@git.uni.edu/x https://***@github.com/y"


# ---------------------------------------------------------------- usage errors: one line, exit 2

@pytest.mark.parametrize("rows, args, message", [
    ([["ana", "a.git"]], ["--deadline", "2026-12-01T23:59:00"], "has no timezone"),
    ([["ana", "a.git"]], ["--deadline", "next friday"], "is not a date and time"),
    ([["ana", "a.git"]], ["--deadline", DEADLINE, "--jobs", "0"], "--jobs must be at least 1"),
    ([["ana", "a.git"]], ["--deadline", DEADLINE, "--github-api", "api.example.edu"], "is not an http(s) URL"),
    ([["ana", "a.git", ""], ["Ana", "b.git", ""]], [], "student 'Ana' appears twice"),
    ([["../escape", "a.git", ""]], [], "cannot be a folder name"),
    ([["a/b", "a.git", ""]], [], "cannot be a folder name"),
    ([[".hidden", "a.git", ""]], [], "cannot be a folder name"),
    ([["manifest.csv", "a.git", ""]], [], "cannot be a folder name"),
    ([["", "a.git", ""]], [], "the student name is empty"),
    ([["ana", "a.git", "next week"]], [], "extension 'next week' is neither a number of hours nor a deadline"),
    ([["ana", "a.git", "-5"]], [], "must be a number of hours >= 0"),
    ([["ana", "a.git", "2026-12-03T12:00:00"]], [], "is neither a number of hours nor a deadline with a timezone"),
    ([["ana", "--upload-pack=touch /tmp/x", ""]], [], "must not start with '-'"),
    (None, [], "has no 'repo' column"),
    ("missing", [], "not found"),
])
def test_bad_rosters_and_deadlines_are_one_line(rows, args, message, tmp_path, collect_env, capsys):
    roster = tmp_path / "roster.csv"
    if rows is None:
        write_roster(roster, [["ana", "a@uni.edu"]], header=("student", "email"))
    elif rows != "missing":
        write_roster(roster, rows, header=("student", "repo", "extension")[:len(rows[0])])
    code, stdout, stderr = collect(capsys, roster, "--out", tmp_path / "out", *(args or ["--deadline", DEADLINE]))
    assert code == 2 and message in stderr, stderr
    assert stderr.count("\n") == 1 and stdout == "" and not (tmp_path / "out").exists()


def test_the_command_line_rejects_a_bad_deadline_in_one_line(tmp_path):
    write_roster(tmp_path / "roster.csv", [["ana", "a.git"]], header=("student", "repo"))
    proc = subprocess.run([sys.executable, "-m", "autograder", "collect", "roster.csv", "--deadline", "2026-12-01",
                           "--out", "collected"], cwd=tmp_path, env=offline_env(), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--deadline '2026-12-01' has no timezone" in proc.stderr


# ---------------------------------------------------------------- size caps: what a checkout would write

def _blob_under_many_names(remote, hours, blob, names):
    """A commit whose tree holds one blob (file ``blob``) under each of ``names``, made without writing them
    out (the working copy stays small: this is what a student can push in a few kilobytes)."""
    sha = remote.git("hash-object", "-w", str(blob))
    for name in names:
        remote.git("update-index", "--add", "--cacheinfo", f"100644,{sha},{name}")
    when = at(hours)
    remote.git("commit", "-q", "-m", "many names", GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    return remote.git("rev-parse", "HEAD")


def _folder_bytes(folder):
    total = 0
    for root, _, files in os.walk(folder):
        total += sum(os.lstat(os.path.join(root, name)).st_size for name in files)
    return total


def test_a_repository_that_would_check_out_too_much_is_refused_and_the_others_collected(
        gitconfig, collect_env, capsys, tmp_path, monkeypatch):
    """One 12 MB blob under 30 names: a tiny push, a 360 MB checkout.  Over limits.repository_mb (100 here)
    nothing is checked out, manifest.csv says why, and the rest of the class is collected."""
    from autograder.semester import collect as collect_mod

    plain, _, _ = gitconfig
    remotes = {name: Remote(tmp_path / "remotes", name, plain) for name in ("bomb", "grow", "ok", "wide")}
    blob = tmp_path / "zeros.bin"
    blob.write_bytes(b"\0" * (12 * 2**20))          # compresses to almost nothing: cheap to push
    remotes["ok"].commit(-2)
    remotes["grow"].commit(-3)
    remotes["bomb"].commit(-5)
    bomb = _blob_under_many_names(remotes["bomb"], -4, blob, [f"lab6_generative/copy{i:02}.bin" for i in range(30)])
    remotes["wide"].commit(-2, files={f"lab6_generative/m{i}.py": "" for i in range(15)})
    for remote in remotes.values():
        remote.push()
    roster = write_roster(tmp_path / "roster.csv", [[name, f"remotes/{name}.git", "", "", ""] for name in remotes])
    data = yaml.safe_load((ROOT / "grading.yml").read_text())
    data["limits"]["repository_mb"] = 100
    small = tmp_path / "grading-small.yml"
    small.write_text(yaml.safe_dump(data, sort_keys=False))
    monkeypatch.setattr(collect_mod, "MAX_REPOSITORY_ENTRIES", 12)   # 'wide' holds 16 files and folders
    out = tmp_path / "collected"
    args = [roster, "--deadline", DEADLINE, "--out", out, "--rubric", small]

    code, stdout, stderr = collect(capsys, *args)
    assert code == 0, stderr
    rows = read_manifest(out)
    assert rows["bomb"]["commit"] == "" and rows["bomb"]["problems"] == (
        f"too large: commit {bomb[:10]} would check out more than 100 MB of files (every path counts, one blob "
        f"under many names too; the limit is limits.repository_mb in grading.yml); nothing checked out")
    assert not (out / "bomb").exists() and not list(out.glob(".partial-*"))
    assert "more than 12 files and folders (the limit is collect's limit for one repository)" in \
        rows["wide"]["problems"] and not (out / "wide").exists()
    for name in ("ok", "grow"):
        assert rows[name]["commit"] and rows[name]["problems"] == ""
        assert (out / name / "lab6_generative" / "vae.py").is_file()
    assert "bomb: not collected: too large" in stdout
    assert _folder_bytes(out) < 5 * 2**20, "nothing of the 360 MB was written"

    # A student collected before pushes the same: the new commit is refused, and the old checkout is not
    # left behind to be graded as if it were the new one.
    _blob_under_many_names(remotes["grow"], -1, blob, [f"lab6_generative/copy{i:02}.bin" for i in range(30)])
    remotes["grow"].push()
    assert collect(capsys, *args)[0] == 0
    rows = read_manifest(out)
    assert rows["grow"]["commit"] == "" and "too large" in rows["grow"]["problems"]
    assert not (out / "grow" / "lab6_generative").exists() and (out / "grow" / ".git").is_dir()
    assert rows["ok"]["commit"] and (out / "ok" / "lab6_generative" / "vae.py").is_file()
    assert _folder_bytes(out) < 5 * 2**20


def test_the_checkout_size_is_read_as_git_streams_it(gitconfig, tmp_path):
    """checkout_problem stops reading ls-tree at the first bound crossed, and counts every path."""
    from autograder.semester import collect as collect_mod
    from autograder import rubric as rubric_mod
    import dataclasses

    plain, _, _ = gitconfig
    remote = Remote(tmp_path / "remotes", "r", plain)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"x" * 3000)
    sha = _blob_under_many_names(remote, -1, blob, [f"d/f{i}" for i in range(400)])
    git = collect_mod.Git(30)
    limits = dataclasses.replace(rubric_mod.Limits(), repository_mb=1)
    assert collect_mod.checkout_problem(git, str(remote.work), sha, limits) == (
        f"too large: commit {sha[:10]} would check out more than 1 MB of files (every path counts, one blob under "
        f"many names too; the limit is limits.repository_mb in grading.yml); nothing checked out")
    roomy = dataclasses.replace(limits, repository_mb=2)
    assert collect_mod.checkout_problem(git, str(remote.work), sha, roomy) is None    # 1.2 MB
    assert not collect_mod._running, "no git process is left running"
    with pytest.raises(collect_mod.GitFailed):
        collect_mod.checkout_problem(git, str(remote.work), "0" * 40, roomy)
