"""Push times that GitHub recorded, for ``collect``: the REST API's repository activity.

    GET {api}/repos/{owner}/{repo}/activity?ref=refs/heads/<branch>&per_page=100

answers a JSON list of activities, newest first, each with ``before`` and
``after`` (commit SHAs), ``ref``, ``timestamp`` (ISO 8601), ``activity_type``
(``push``, ``force_push``, ``branch_creation``, ``branch_deletion``,
``pr_merge``, ``merge_queue_merge``) and ``actor``; further pages are named by
the ``Link`` header (``rel="next"``, a cursor).  Every type that moves the
branch to a commit counts as a push here: the first push to a repository is a
``branch_creation``, and merging a pull request also puts commits on the
branch, so the query is not filtered to ``activity_type=push``.

The token (``GH_TOKEN``, ``GITHUB_TOKEN``, else ``gh auth token``) goes in the
``Authorization`` header only, and only to the API's own host: it is never
printed, logged or written.  Only the standard library is used (urllib).
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

PUBLIC_API = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
MAX_PAGES = 100           # 10,000 activities: far more than a lab repository has
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")   # SHA-1, or SHA-256 repositories


class ApiError(Exception):
    """The activity could not be read; ``str()`` is one sentence for the manifest."""


def parse_time(text):
    """An aware datetime from GitHub's ISO 8601 (``...Z`` or an offset)."""
    value = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {text!r}")
    return value


def web_host(api_base):
    """The host repositories of this API live on: api.github.com -> github.com; https://HOST/api/v3 -> HOST."""
    host = urllib.parse.urlsplit(api_base).netloc.lower()
    return "github.com" if host == "api.github.com" else host


_tokens = {}
_token_lock = threading.Lock()


def token(api_base, environ=None):
    """The token for ``api_base``, or None: GH_TOKEN, GITHUB_TOKEN (GH_ENTERPRISE_TOKEN on Enterprise), gh."""
    environ = os.environ if environ is None else environ
    names = ["GH_TOKEN", "GITHUB_TOKEN"]
    if web_host(api_base) != "github.com":
        names += ["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"]
    for name in names:
        if environ.get(name, "").strip():
            return environ[name].strip()
    with _token_lock:
        if api_base not in _tokens:
            _tokens[api_base] = _gh_token(web_host(api_base))
        return _tokens[api_base]


def _gh_token(host):
    gh = shutil.which("gh")
    if not gh:
        return None
    try:
        proc = subprocess.run([gh, "auth", "token", "--hostname", host], capture_output=True, text=True,
                              timeout=15, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value and "\n" not in value else None


def activities(api_base, owner, repo, branch, auth, timeout=30.0):
    """Every activity of ``refs/heads/<branch>``: a list of dicts as GitHub returns them; raises ApiError."""
    base = api_base.rstrip("/")
    query = urllib.parse.urlencode({"ref": f"refs/heads/{branch}", "per_page": PER_PAGE})
    url = f"{base}/repos/{urllib.parse.quote(owner, safe='')}/{urllib.parse.quote(repo, safe='')}/activity?{query}"
    origin = urllib.parse.urlsplit(base)[:2]
    found = []
    for _ in range(MAX_PAGES):
        page, link = _get(url, auth, timeout)
        if not isinstance(page, list):
            raise ApiError("GitHub API: the activity answer is not a list")
        found += page
        match = _NEXT.search(link or "")
        if not match:
            return found
        url = urllib.parse.urljoin(url, match.group(1))
        if urllib.parse.urlsplit(url)[:2] != origin:   # the token stays with the API's own host
            raise ApiError(f"GitHub API: the next page is on another host ({urllib.parse.urlsplit(url).netloc})")
    raise ApiError(f"GitHub API: more than {MAX_PAGES} pages of activity")


def _get(url, auth, timeout):
    request = urllib.request.Request(url, headers={
        "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "lab6-autograder-collect", "Authorization": f"Bearer {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            link = response.headers.get("Link", "")
    except urllib.error.HTTPError as err:
        raise ApiError(f"GitHub API: {err.code} {_message(err)}{_HINTS.get(err.code, '')}") from None
    except urllib.error.URLError as err:
        raise ApiError(f"GitHub API unreachable: {err.reason}") from None
    except (OSError, ValueError) as err:   # timeouts, reset connections, bad URLs
        raise ApiError(f"GitHub API unreachable: {err}") from None
    try:
        return json.loads(body), link
    except ValueError:
        raise ApiError("GitHub API: the answer is not JSON") from None


_HINTS = {401: " (the token was rejected)",
          403: " (no access, or the rate limit)",
          404: " (no such repository, or the token cannot read it)"}


def _message(err):
    try:
        message = json.loads(err.read() or b"{}").get("message")
    except (ValueError, AttributeError, OSError):
        message = None
    return str(message or err.reason or "error").splitlines()[0][:200]


def pushes(events, branch):
    """[(time, after_sha)] of the events that put a commit on ``branch``, oldest first."""
    ref = f"refs/heads/{branch}"
    found = []
    for event in events:
        if not isinstance(event, dict):
            continue
        after = str(event.get("after") or "").lower()
        if event.get("ref") not in (ref, branch) or not _SHA.fullmatch(after) or not after.strip("0"):
            continue   # another branch, or a deletion (after = 000...)
        try:
            found.append((parse_time(str(event.get("timestamp") or "")), after))
        except ValueError:
            continue
    return sorted(found)
