"""Reading a student's folder from a trusted process: the one place it is done.

Everything in a student's folder is hostile data: a file may be a named pipe
(opening it for reading blocks forever), a device (``/dev/zero`` never ends),
a symbolic link (to the grader's secrets, or to itself), a sparse file of
terabytes, folders nested a thousand deep (``os.walk`` in Python 3.11 recurses,
and fails), or a million empty files.  Every trusted process (``grade-all``,
resume's fingerprints, the box copy, ``find_package``) reads student folders
through this module, which guarantees:

* **Links are never followed**: entries are classified with ``lstat``
  (``os.scandir`` with ``follow_symlinks=False``), folders are opened with
  ``O_NOFOLLOW | O_DIRECTORY``, files with ``O_NOFOLLOW``; a link is reported
  as a link (its target is text, read with ``readlink``), and copied as a link.
* **Regular files only**: named pipes, devices and sockets are reported
  (``Entry.kind``) and never opened; a file is opened with ``O_NONBLOCK`` and
  checked with ``fstat`` after opening, so a pipe or device swapped in between
  is refused (``NotRegular``) without blocking.
* **Bounded**: the walk is iterative (no recursion), counts every entry it
  sees (``max_entries``), refuses folders nested deeper than ``max_depth``,
  and keeps a running total of the regular files' sizes (``max_bytes``,
  the apparent size ``st_size``, so a sparse file counts at its full size);
  a file is read in 1 MB chunks, never past the size ``fstat`` gave when it
  was opened.  Crossing a bound raises ``TooLarge`` (a ``UsageError``) whose
  message is one sentence naming the limit and its setting in grading.yml.

The bounds come from ``limits:`` in grading.yml (``rubric.Limits``):
``submission_mb``, ``submission_files``, ``submission_depth``.

Not defended against: a student changing the folder *while* it is read.
Student folders are written by ``collect`` or by the instructor; student code
runs only in the sandbox, which never sees them.
"""
import dataclasses
import errno
import hashlib
import os
import re
import shutil
import stat

from autograder.errors import UsageError

MB = 2**20
CHUNK = MB
# What the box copy and the fingerprint leave out: caches, a repository's own git folder.
SKIP_DIRS = frozenset({"__pycache__", ".git"})
SKIP_SUFFIXES = (".pyc", ".pyo")

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)
READ_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_NOCTTY | _O_CLOEXEC | _O_BINARY
_DIR_FLAGS = os.O_RDONLY | _O_NOFOLLOW | _O_DIRECTORY | _O_CLOEXEC | _O_NONBLOCK


class TooLarge(UsageError):
    """A student folder crosses a bound; ``reason`` (also ``str()``) is one sentence for people.

    A ``UsageError``: where nobody catches it, the command prints that one line
    and exits 2.  ``limit`` names the setting (``submission_mb``, ...).
    """

    def __init__(self, reason, limit=None):
        self.reason, self.limit = reason, limit
        super().__init__(reason)


class NotRegular(OSError):
    """A path that was to be read as a file is not a regular file (a pipe, a device, a link, a folder)."""


@dataclasses.dataclass(frozen=True)
class Bounds:
    """How much of a folder a trusted process reads, and how its messages name the limits.

    ``Bounds.of(limits)`` takes a ``rubric.Limits`` (None: its defaults);
    ``settings`` are the grading.yml names quoted in ``TooLarge`` messages,
    ``what`` is how the message names the folder ("your submission").
    """

    max_bytes: int
    max_entries: int
    max_depth: int
    what: str = "your submission"
    settings: tuple = ("limits.submission_mb", "limits.submission_files", "limits.submission_depth")

    @classmethod
    def of(cls, limits=None, what="your submission"):
        """The bounds of a submission from ``limits`` (a rubric.Limits or a Bounds; None: the defaults)."""
        if isinstance(limits, Bounds):
            return limits
        if limits is None:
            from autograder.rubric import Limits# not at import time: rubric imports yaml and the checks' names
            limits = Limits()
        return cls(int(limits.submission_mb * MB), int(limits.submission_files), int(limits.submission_depth),
                   what)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One thing in a walked folder.

    ``kind``: "dir", "file" (regular), "link" (never followed), "fifo",
    "device", "socket" or "other".  ``size`` is ``st_size`` for files, else 0.
    ``rel`` is the path below the walked folder, '/'-separated; ``depth`` 1
    for the folder's own entries.
    """

    path: str
    rel: str
    kind: str
    size: int
    depth: int

    @property
    def special(self):
        """True for what is never opened: pipes, devices, sockets, unknown types."""
        return self.kind not in ("dir", "file", "link")


@dataclasses.dataclass
class Report:
    """What ``copy_tree`` or ``fingerprint`` did: counts, and what was left out and why."""

    files: int = 0
    bytes: int = 0
    links: int = 0
    dirs: int = 0
    skipped: list = dataclasses.field(default_factory=list)   # [(rel, kind)]: pipes, devices, sockets

    def note(self, shown_as=""):
        """One sentence on what was skipped (for the student's report), or '' when nothing was."""
        return skipped_note(self.skipped, shown_as)


KIND_NAMES = {"fifo": "a named pipe", "device": "a device", "socket": "a socket", "other": "not a file"}


def skipped_note(skipped, shown_as=""):
    """``[(rel, kind)]`` as one sentence: "Not read: lab6_generative/notes.py (a named pipe)." ('' if none)."""
    if not skipped:
        return ""
    prefix = f"{shown_as}/" if shown_as else ""
    items = [f"{shown(prefix + rel)} ({KIND_NAMES.get(kind, kind)})" for rel, kind in skipped[:5]]
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return (f"Not read: {', '.join(items)}{more}; only regular files, folders and links are graded "
            f"(links as links, never followed).")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def shown(path, limit=120):
    """A student-chosen path made safe to print: no control characters or lone surrogates, at most ``limit``."""
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = _CONTROL.sub("?", text)
    if len(text) > limit:
        text = text[:limit // 2 - 2] + "…" + text[-(limit // 2 - 1):]
    return text


def _kind(mode):
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


def default_skip(name, kind):
    """True for what the box copy and the fingerprint leave out: __pycache__/, .git/, *.pyc, *.pyo."""
    if kind == "dir":
        return name in SKIP_DIRS
    return kind == "file" and name.endswith(SKIP_SUFFIXES)


def _mb(n):
    return f"{n / MB:.0f} MB" if n >= MB else f"{n} bytes"


def _list_dir(path, budget, follow=False):
    """[(name, kind, size)] of folder ``path`` (a link to one only if ``follow``), at most ``budget`` + 1.

    Reading stops after ``budget`` + 1 entries, so a folder of a million entries
    costs no more than that; the caller sees that it is over.  OSError when
    ``path`` cannot be listed (or is a link by now).
    """
    found = []
    if os.scandir in os.supports_fd and _O_DIRECTORY:
        fd = os.open(path, _DIR_FLAGS & ~_O_NOFOLLOW if follow else _DIR_FLAGS)
        try:
            with os.scandir(fd) as it:   # scandir duplicates fd; ours is closed below
                _take(it, budget, found)
        finally:
            os.close(fd)
    else:
        if os.path.islink(path) and not follow:
            raise NotRegular(f"{path} is a link")
        with os.scandir(path) as it:
            _take(it, budget, found)
    return found


def _take(it, budget, found):
    for item in it:
        try:
            info = item.stat(follow_symlinks=False)
        except OSError:
            continue   # gone since it was listed
        kind = _kind(info.st_mode)
        found.append((item.name, kind, info.st_size if kind == "file" else 0))
        if len(found) > budget:
            return


def walk(top, limits=None, skip=default_skip, shown_as=None):
    """Every entry under folder ``top`` (an Entry each), never following a link, bounded, never recursive.

    Order: a folder's entries sorted by name, then its subfolders' (depth
    first, in that order), so a folder always comes before what it holds; one
    folder is open at a time.

    ``limits``: a rubric.Limits or Bounds (None: the defaults).  ``skip(name,
    kind)`` leaves an entry out (not yielded, a folder not entered); it still
    counts towards ``max_entries``.  Raises ``TooLarge`` when the walk sees
    more than ``max_entries`` entries, a folder deeper than ``max_depth``, or
    regular files adding up to more than ``max_bytes`` (before it yields the
    file that crosses it); ``NotADirectoryError`` when ``top`` is not a folder
    (a link to one is not one), OSError when it cannot be listed.  Unreadable
    folders inside are yielded and not entered.  ``shown_as`` names ``top`` in
    messages (default: its base name).

    Paths are opened by name, the last component without following a link:
    not proof against a folder being changed while it is walked (see above).
    """
    bounds = Bounds.of(limits)
    info = os.lstat(top)
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(f"{top} is not a folder")
    label = os.path.basename(os.path.normpath(top)) if shown_as is None else shown_as
    prefix = f"{label}/" if label else ""
    mb_setting, files_setting, depth_setting = bounds.settings
    entries = total = 0
    stack = [(top, "", 0)]         # folders still to list: (path, rel, depth)
    while stack:
        path, rel, depth = stack.pop()
        try:
            found = _list_dir(path, bounds.max_entries - entries)
        except OSError:
            if depth == 0:
                raise              # the folder itself cannot be read: the caller says so
            continue               # unreadable, or replaced by a link since it was listed: not entered
        entries += len(found)
        if entries > bounds.max_entries:
            raise TooLarge(f"{bounds.what} holds more than {bounds.max_entries} files and folders (the limit is "
                           f"{files_setting} in grading.yml)", "entries")
        folders = []
        for name, kind, size in sorted(found):
            if skip is not None and skip(name, kind):
                continue
            child_rel = f"{rel}/{name}" if rel else name
            if kind == "dir" and depth + 1 > bounds.max_depth:
                raise TooLarge(f"{bounds.what} nests folders more than {bounds.max_depth} deep (at "
                               f"{shown(prefix + child_rel)}; the limit is {depth_setting} in grading.yml)",
                               "depth")
            if kind == "file":
                total += size
                if total > bounds.max_bytes:
                    where = (f"{shown(prefix + child_rel)} alone is {_mb(size)}" if size > bounds.max_bytes
                             else f"reached at {shown(prefix + child_rel)}")
                    raise TooLarge(f"{bounds.what}'s files add up to more than {_mb(bounds.max_bytes)} ({where}; "
                                   f"the limit is {mb_setting} in grading.yml)", "bytes")
            entry = Entry(os.path.join(path, name), child_rel, kind, size, depth + 1)
            if kind == "dir":
                folders.append(entry)
            yield entry
        # Listed folders are entered depth first, the first name first (the stack pops the last pushed).
        for entry in reversed(folders):
            stack.append((entry.path, entry.rel, entry.depth))


def open_regular(path, dir_fd=None):
    """(fd, stat) of regular file ``path`` opened for reading; ``NotRegular`` for anything else.

    Never follows a link (``O_NOFOLLOW``), never blocks on a pipe or waits for a
    device (``O_NONBLOCK``, ``O_NOCTTY``), and checks the opened file with ``fstat``.
    """
    try:
        fd = os.open(path, READ_FLAGS, dir_fd=dir_fd)
    except OSError as err:
        if err.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):   # a link, a socket, a folder
            raise NotRegular(f"{path} is not a regular file ({os.strerror(err.errno)})") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegular(f"{path} is {KIND_NAMES.get(_kind(info.st_mode), 'a folder')}, not a regular file")
        return fd, info
    except BaseException:
        os.close(fd)
        raise


def _chunks(fd, size):
    """At most ``size`` bytes of ``fd``, in chunks of CHUNK."""
    left = size
    while left > 0:
        data = os.read(fd, min(CHUNK, left))
        if not data:
            break
        left -= len(data)
        yield data


def hash_file(path, max_bytes=None, digest=None):
    """sha256 of regular file ``path`` (or ``digest`` updated), streamed; returns (hexdigest, bytes read).

    Reads at most the size ``fstat`` reported at opening.  ``NotRegular``
    for a link, pipe, device or folder (never opened for long, never
    blocking); ``TooLarge`` when the file is larger than ``max_bytes``.
    """
    digest = digest if digest is not None else hashlib.sha256()
    fd, info = open_regular(path)
    try:
        if max_bytes is not None and info.st_size > max_bytes:
            raise TooLarge(f"{shown(path)} is {_mb(info.st_size)}, more than {_mb(max_bytes)}", "bytes")
        read = 0
        for data in _chunks(fd, info.st_size):
            digest.update(data)
            read += len(data)
        return digest.hexdigest(), read
    finally:
        os.close(fd)


def read_text(path, max_bytes, encoding="utf-8"):
    """The text of regular file ``path`` if it is at most ``max_bytes``; NotRegular / TooLarge otherwise."""
    fd, info = open_regular(path)
    try:
        if info.st_size > max_bytes:
            raise TooLarge(f"{shown(path)} is {_mb(info.st_size)}, more than {_mb(max_bytes)}", "bytes")
        return b"".join(_chunks(fd, info.st_size)).decode(encoding, "replace")
    finally:
        os.close(fd)


def fingerprint(top, limits=None, skip=default_skip, digest=None, files=None):
    """(sha256 hex, Report) of what is in folder ``top``, as ``copy_tree`` would copy it.

    Covers every entry's relative path and kind, each regular file's bytes
    (streamed), each link's target text (never followed), and the presence
    of skipped pipes and devices (never opened).  ``files(name)``, when
    given, selects which regular files are hashed (the others are left out
    entirely).  Bounded as ``walk``: raises ``TooLarge``.
    """
    bounds = Bounds.of(limits)
    digest = digest if digest is not None else hashlib.sha256()
    report = Report()
    for entry in walk(top, bounds, skip=skip):
        name = entry.rel.rsplit("/", 1)[-1]
        if entry.kind == "file" and files is not None and not files(name):
            continue
        digest.update(entry.kind.encode() + b"\0" + os.fsencode(entry.rel) + b"\0")
        if entry.kind == "dir":
            report.dirs += 1
        elif entry.kind == "file":
            try:
                _, read = hash_file(entry.path, bounds.max_bytes, digest)
            except NotRegular:   # swapped since it was listed: never read
                report.skipped.append((entry.rel, "other"))
                continue
            digest.update(b"\0" + str(read).encode() + b"\0")
            report.files += 1
            report.bytes += read
        elif entry.kind == "link":
            try:
                digest.update(os.fsencode(os.readlink(entry.path)) + b"\0")
            except OSError:
                pass
            report.links += 1
        else:
            report.skipped.append((entry.rel, entry.kind))
    return digest.hexdigest(), report


def copy_tree(src, dst, limits=None, skip=default_skip):
    """Copy student folder ``src`` to ``dst`` (which must not exist) within ``limits``; returns a Report.

    ``limits``: ``rubric.Limits`` (its ``submission_mb``, ``submission_files``,
    ``submission_depth``) or a ``Bounds``; None for the defaults.  Regular
    files are copied by streaming (at most the size seen at opening; mode bits
    0o755 at most, modification times kept); links are copied as links and
    never followed; folders are created 0o755; pipes, devices and sockets are
    not opened and are listed in ``Report.skipped`` (``Report.note(...)`` says
    so in one sentence); ``skip(name, kind)`` leaves entries out (default:
    ``__pycache__/``, ``.git/``, ``*.pyc``, ``*.pyo``).

    Raises ``TooLarge`` (a UsageError, one sentence naming the limit) when
    ``src`` holds more entries, deeper folders or more bytes than allowed;
    ``NotADirectoryError`` when ``src`` is not a folder (or is a link).  On
    any error ``dst`` is removed: nothing half-copied is left.
    """
    bounds = Bounds.of(limits)
    if os.path.lexists(dst):
        raise FileExistsError(f"{dst} exists")
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    report = Report()
    os.mkdir(dst, 0o755)
    try:
        for entry in walk(src, bounds, skip=skip):
            target = os.path.join(dst, *entry.rel.split("/"))
            if entry.kind == "dir":
                os.mkdir(target, 0o755)
                report.dirs += 1
            elif entry.kind == "file":
                try:
                    copied = _copy_file(entry.path, target, bounds.max_bytes - report.bytes)
                except NotRegular:
                    report.skipped.append((entry.rel, "other"))
                    continue
                report.files += 1
                report.bytes += copied
            elif entry.kind == "link":
                try:
                    os.symlink(os.readlink(entry.path), target)
                except OSError:
                    report.skipped.append((entry.rel, "link"))
                    continue
                report.links += 1
            else:
                report.skipped.append((entry.rel, entry.kind))
    except BaseException:
        shutil.rmtree(dst, ignore_errors=True)
        raise
    return report


def _copy_file(path, target, budget):
    """Stream regular file ``path`` into new file ``target``: at most its size at opening, and ``budget``."""
    fd, info = open_regular(path)
    try:
        if info.st_size > budget:    # it grew since it was listed
            raise TooLarge(f"{shown(path)} grew while it was copied", "bytes")
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC | _O_BINARY,
                      (info.st_mode & 0o755) | 0o600)
        copied = 0
        try:
            for data in _chunks(fd, info.st_size):
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view):]
                copied += len(data)
        finally:
            os.close(out)
        try:
            os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)
        except (OSError, NotImplementedError):
            pass
        return copied
    finally:
        os.close(fd)


def find_package(folder, package, max_depth=0, limits=None):
    """The folder at most ``max_depth`` levels below ``folder`` that holds ``package/``, or None.

    Breadth first, shallowest first, sorted; never into hidden folders, never
    through links below ``folder`` (the package folder itself must be a real
    folder; ``folder`` is the caller's choice and may be a link).  Lists at most
    ``submission_files`` entries in all (``TooLarge`` beyond).
    """
    bounds = Bounds.of(limits)
    seen = 0
    level = [folder]
    for depth in range(max_depth + 1):
        below = []
        for current in sorted(level):
            try:
                if stat.S_ISDIR(os.lstat(os.path.join(current, package)).st_mode):
                    return current
            except OSError:
                pass
            if depth == max_depth:
                continue
            try:
                found = _list_dir(current, bounds.max_entries - seen, follow=depth == 0)
            except OSError:
                continue
            seen += len(found)
            if seen > bounds.max_entries:
                raise TooLarge(f"{bounds.what} holds more than {bounds.max_entries} files and folders where "
                               f"{package}/ was looked for (the limit is {bounds.settings[1]} in grading.yml)",
                               "entries")
            names = [name for name, kind, _ in found if kind == "dir" and not name.startswith(".")]
            below += [os.path.join(current, name) for name in sorted(names)]
        level = below
    return None


def remove_tree(root):
    """Delete ``root`` and everything in it: no recursion, never following a link, read-only folders too.

    For trees a student's code may have shaped (a box's scratch folder: a
    thousand nested folders, folders made read-only, paths longer than the
    system allows): ``shutil.rmtree`` and ``os.walk`` recurse in Python 3.11
    and name everything by its full path.  Here every name is relative to an
    open folder, and the folders found inside a folder are first moved up
    into ``root``, so no path is ever longer than two names and at most two
    folders are open at a time.  A link is removed, never entered.  Errors
    are ignored, as with ``shutil.rmtree(ignore_errors=True)``; what could not
    be removed stays.
    """
    try:
        if not stat.S_ISDIR(os.lstat(root).st_mode):
            os.unlink(root)
            return
        _open_up(root, None)
        top = os.open(root, _DIRECTORY_FLAGS)
    except OSError:
        return
    try:
        taken = set(os.listdir(top))
        pending, moved = [None], 0   # None: root itself; else a folder moved up into root
        while pending:
            name = pending.pop()
            try:
                if name is None:
                    here = os.dup(top)
                else:
                    _open_up(name, top)
                    here = os.open(name, _DIRECTORY_FLAGS, dir_fd=top)
            except OSError:
                continue
            try:
                with os.scandir(here) as it:
                    entries = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in it]
                for entry, is_folder in entries:
                    try:
                        if not is_folder:
                            os.unlink(entry, dir_fd=here)
                        elif name is None:
                            pending.append(entry)
                        else:
                            while f".removing-{moved}" in taken:
                                moved += 1
                            taken.add(f".removing-{moved}")
                            os.rename(entry, f".removing-{moved}", src_dir_fd=here, dst_dir_fd=top)
                            pending.append(f".removing-{moved}")
                    except OSError:
                        pass
            except OSError:
                pass
            finally:
                os.close(here)
            if name is not None:
                try:
                    os.rmdir(name, dir_fd=top)
                except OSError:
                    pass
    finally:
        os.close(top)
    try:
        os.rmdir(root)
    except OSError:
        pass


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_up(name, dir_fd):
    """chmod 0700 the folder ``name`` (relative to ``dir_fd``), never what a link points to.

    The folder is opened as a path (``O_PATH | O_NOFOLLOW``: a link that replaced it in the meantime
    is opened as a link), checked to be a folder, and changed through ``/proc/self/fd``: the very
    inode that was opened, whatever happens to the name.
    """
    try:
        fd = os.open(name, getattr(os, "O_PATH", os.O_RDONLY) | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                     dir_fd=dir_fd)
    except OSError:
        return
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.chmod(f"/proc/self/fd/{fd}", 0o700)
    except OSError:
        pass
    finally:
        os.close(fd)
