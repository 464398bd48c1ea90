"""Inside the worker: shut the doors before the submission is imported.

``autograder.grading.worker_main`` calls ``confine(settings)`` after torch and the
probes are imported and before the submission's folder is put on
``sys.path``.  What it does depends on the mechanism chosen by
``autograder.sandbox`` (the grader side):

every mechanism
    resource limits (address space, file size, no core files, CPU seconds,
    and processes when the worker has a uid of its own), and SIGKILL when the
    grader goes away (``PR_SET_PDEATHSIG``).
``bwrap``
    plus a seccomp filter (below).  The namespaces bubblewrap made already
    hide the host's files, processes and network.  A worker forked from a
    template (``landlock_too``) also applies the Landlock rules below: its
    template shares its namespaces, and they keep it away from the template's
    ``/proc`` files.
``landlock``
    (no namespaces to hide in) plus a Landlock ruleset: read-only access to
    the Python runtime, the grader's worker modules and the private copy of
    the submission, read-write access to the scratch folder and nothing
    else, not even ``/proc`` of another process; no TCP; no signals and no
    abstract Unix sockets out of the sandbox.  Then the capabilities of a
    root worker are dropped, and the seccomp filter.
``none``
    only the resource limits.

The seccomp filter (libseccomp, through ``pyseccomp``) refuses to create
processes (threads are fine), so nothing the submission starts can outlive
the worker, escape ``killpg``, or multiply its memory limit; and it refuses
the other system calls a grading job never needs and an attack does: sockets of
every family (Unix ones included: Landlock cannot stop a connect() to a host
socket by its path), memory outside the address-space limit (``memfd_create``,
System V shared memory, message queues), ``ptrace`` and reading other processes' memory,
limits and scheduling of other processes (``prlimit``, ``sched_set*``, ``setpriority``,
``ioprio_set``), signals by file ownership (``F_SETOWN``, ``F_SETSIG``), ``setsid``/``setpgid``,
namespaces, mounts, kernel modules, keyrings, BPF, ``io_uring`` (which
bypasses seccomp), ``userfaultfd``, file handles.

Why some of this is written by hand: the ``landlock`` package (PyPI) only
knows file-system rules; TCP rules (Landlock ABI 4) and scoping of signals and
abstract sockets (ABI 6) need the larger ``landlock_ruleset_attr``, so a
second ruleset with just those is stacked here with three ``syscall``s.
Dropping capabilities is one ``capset``; no maintained binding does only that.

This module runs in the worker, from the private copy of the grader's worker
modules: it imports nothing of the grader but itself.
"""
import ctypes
import errno
import os
import resource
import signal

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_CHILD_SUBREAPER = 36

# Landlock, for the rules the PyPI package lacks (linux/landlock.h).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
ACCESS_NET_BIND_TCP = 1
ACCESS_NET_CONNECT_TCP = 2
SCOPE_ABSTRACT_UNIX_SOCKET = 1
SCOPE_SIGNAL = 2

# The Landlock file rights: read-only and read-write (linux/landlock.h).
_READ = (1 << 0) | (1 << 2) | (1 << 3)          # execute, read file, read dir

# Files outside the runtime that Python and torch read after their import.
SYSTEM_READS = ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/passwd",
                "/etc/group", "/proc/cpuinfo", "/proc/meminfo", "/proc/stat",
                "/sys/devices/system/cpu", "/sys/fs/cgroup", "/dev/urandom", "/dev/random")
SYSTEM_WRITES = ("/dev/null", "/dev/zero", "/dev/full")


class ConfineError(RuntimeError):
    """The worker could not be confined; it must not import the submission."""


def landlock_abi():
    """The kernel's Landlock ABI version, 0 when it has none (or it is disabled)."""
    try:
        version = LIBC.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                               ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    except Exception:  # pragma: no cover - no syscall() in this libc
        return 0
    return max(version, 0)


def prctl(option, arg2=0):
    """Linux's prctl(option, arg2, 0, 0, 0); OSError when it fails (the grader's side uses it too)."""
    if LIBC.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def die_with_parent(parent_pid):
    """SIGKILL this process when the grader that started it ends (and now, if it already has)."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(70)


def set_limit(kind, value):
    """Lower a resource limit (never raise it above the hard limit)."""
    if value and value > 0:
        _, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value))


def limit_resources(settings):
    set_limit(resource.RLIMIT_AS, settings["memory_bytes"])
    set_limit(resource.RLIMIT_FSIZE, settings["file_bytes"])
    set_limit(resource.RLIMIT_CORE, 0)
    cpu = settings.get("cpu_seconds")
    if cpu:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = int(cpu)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 5 if hard == resource.RLIM_INFINITY
                                                 else min(soft + 5, hard)))
    if settings.get("max_processes"):
        set_limit(resource.RLIMIT_NPROC, settings["max_processes"])
    set_limit(resource.RLIMIT_NOFILE, settings.get("max_files", 256))  # pipes hold kernel memory too


def _landlock_files(settings):
    """The file-system ruleset, with the maintained ``landlock`` package.

    The package decides success by ``errno`` rather than the return value, so
    errno is cleared before each of its calls (an earlier failed call, like
    dropping a capability the kernel does not know, would fail the next one).
    """
    import landlock

    ctypes.set_errno(0)
    ruleset = landlock.Ruleset()
    read = landlock.FSAccess(_READ)
    write_all = ruleset.restrict_rules
    for path in list(settings["read"]) + list(SYSTEM_READS) + [f"/proc/{os.getpid()}"]:
        if os.path.exists(path):
            rights = read if os.path.isdir(path) else landlock.FSAccess(_READ & ~(1 << 3))
            ctypes.set_errno(0)
            ruleset.allow(path, rules=rights)
    for path in SYSTEM_WRITES:
        if os.path.exists(path):
            ctypes.set_errno(0)
            ruleset.allow(path, rules=landlock.FSAccess((1 << 1) | (1 << 2)))
    for path in settings["write"]:
        ctypes.set_errno(0)
        ruleset.allow(path, rules=write_all)
    ctypes.set_errno(0)
    ruleset.apply()


def _landlock_net_and_scope(abi):
    """A second, stacked ruleset: no TCP (ABI >= 4), no signals or abstract sockets out (ABI >= 6)."""
    if abi < 4:
        return
    fields = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]
    values = {"handled_access_net": ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP}
    if abi >= 6:
        fields.append(("scoped", ctypes.c_uint64))
        values["scoped"] = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL

    class Attr(ctypes.Structure):
        _fields_ = fields

    attr = Attr(**values)
    fd = LIBC.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                      ctypes.c_uint32(0))
    if fd < 0:
        raise ConfineError(f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}")
    try:
        if LIBC.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            raise ConfineError(f"landlock_restrict_self: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


def drop_capabilities():
    """Leave root without any capability, now and after an exec (uid 0 stays uid 0)."""
    if os.geteuid() != 0:
        return
    for cap in range(64):
        if LIBC.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), ctypes.c_ulong(0), ctypes.c_ulong(0),
                      ctypes.c_ulong(0)) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise ConfineError(f"could not drop capability {cap}: {os.strerror(ctypes.get_errno())}")
    LIBC.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), ctypes.c_ulong(0),
               ctypes.c_ulong(0), ctypes.c_ulong(0))

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if LIBC.capset(ctypes.byref(header), data) != 0:
        raise ConfineError(f"capset: {os.strerror(ctypes.get_errno())}")


DENIED_CALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "setsid", "setpgid", "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "move_mount", "open_tree", "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key", "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "settimeofday", "clock_settime",
    "clock_adjtime", "sethostname", "setdomainname", "iopl", "ioperm", "vhangup", "lookup_dcookie",
    "fanotify_init",
    # Memory outside the worker's address-space limit: anonymous files and System V / POSIX IPC.
    "memfd_create", "memfd_secret", "shmget", "shmat", "msgget", "semget", "mq_open",
    # No sockets of any family: not even a Unix socket to a host service by its path.
    "socket", "socketpair",
    # Landlock does not cover permissions, owners, times or extended attributes of what a worker can
    # see (under a root grader: setuid bits on the runtime, an unreadable grading.yml).
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "utime", "utimes", "utimensat", "futimesat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    # Signals by other routes than kill (Landlock scopes them only from ABI 6 on).
    "pidfd_open", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
)
PR_SET_PDEATHSIG_CALL = 1  # prctl(PR_SET_PDEATHSIG, ...): the worker may not stop dying with the grader
CLONE_THREAD = 0x00010000
PRIO_PROCESS = 0
IOPRIO_WHO_PROCESS = 1
F_SETOWN, F_SETSIG, F_SETOWN_EX = 8, 10, 15
FIOSETOWN, SIOCSPGRP = 0x8901, 0x8902


def install_seccomp(own_pid):
    """The seccomp filter: no new processes, no signals to others, none of DENIED_CALLS."""
    import pyseccomp as sc

    flt = sc.SyscallFilter(sc.ALLOW)
    try:
        flt.set_attr(sc.Attr.CTL_TSYNC, 1)  # every thread, not only this one
    except (OSError, AttributeError):  # pragma: no cover - an old libseccomp
        pass
    deny = sc.ERRNO(errno.EPERM)
    for name in DENIED_CALLS:
        try:
            flt.add_rule(deny, name)
        except (OSError, ValueError, RuntimeError):  # a call this kernel/libseccomp does not know
            pass
    flt.add_rule(deny, "fork")
    flt.add_rule(deny, "vfork")
    flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")  # its flags are behind a pointer: make libc use clone
    # Signals only to itself (Landlock's scoping does this too, from ABI 6 on).  libseccomp
    # takes one comparison per argument and rule, so kill(0, ...) is refused as well.
    flt.add_rule(deny, "kill", sc.Arg(0, sc.NE, own_pid))
    flt.add_rule(deny, "tgkill", sc.Arg(0, sc.NE, own_pid))
    flt.add_rule(deny, "tkill")
    flt.add_rule(deny, "prctl", sc.Arg(0, sc.EQ, PR_SET_PDEATHSIG_CALL))
    # Limits and scheduling of this process only (pid 0: "the caller"), never of another one (a
    # template process whose later workers would inherit them, or a grading process of the same uid).
    for name in ("prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam", "sched_setattr"):
        _deny_if(flt, deny, name, sc.Arg(0, sc.NE, 0))
    _deny_if(flt, deny, "setpriority", sc.Arg(0, sc.NE, PRIO_PROCESS))
    _deny_if(flt, deny, "setpriority", sc.Arg(1, sc.NE, 0))
    _deny_if(flt, deny, "ioprio_set", sc.Arg(0, sc.NE, IOPRIO_WHO_PROCESS))
    _deny_if(flt, deny, "ioprio_set", sc.Arg(1, sc.NE, 0))
    # Signals by file ownership: SIGIO or any signal chosen by F_SETSIG, to whichever process owns the file.
    for command in (F_SETOWN, F_SETSIG, F_SETOWN_EX):
        _deny_if(flt, deny, "fcntl", sc.Arg(1, sc.EQ, command))
    for request in (FIOSETOWN, SIOCSPGRP):
        _deny_if(flt, deny, "ioctl", sc.Arg(1, sc.EQ, request))
    flt.load()


def _deny_if(flt, deny, name, *conditions):
    try:
        flt.add_rule(deny, name, *conditions)
    except (OSError, ValueError, RuntimeError):  # a call this kernel/libseccomp does not know
        pass


def confine(settings):
    """Apply the sandbox's inside half for ``settings['mechanism']``; raise ConfineError if it cannot."""
    mechanism = settings["mechanism"]
    if settings.get("parent_pid"):
        die_with_parent(settings["parent_pid"])
    limit_resources(settings)
    if mechanism == "none":
        return
    try:
        if mechanism == "landlock" or settings.get("landlock_too"):
            threads = os.listdir("/proc/self/task")
            if len(threads) != 1:  # Landlock binds only the calling thread
                raise ConfineError(f"{len(threads)} threads are running; Landlock needs exactly one")
            drop_capabilities()
            _landlock_files(settings)
            _landlock_net_and_scope(landlock_abi())
        install_seccomp(own_pid=os.getpid())
    except ConfineError:
        raise
    except Exception as err:
        raise ConfineError(f"{type(err).__name__}: {err}") from None


def escapes(settings):
    """What a confined worker can still do that it must not: one sentence each (the self-test).

    Run by ``worker_main`` in self-test mode, inside the real box, right after
    ``confine``, with no submission imported: the grader believes this
    report because no student code has run in this process.
    """
    found = []

    def attempt(what, action):
        try:
            action()
        except OSError:
            return
        found.append(what)

    def read_host_file():
        with open(settings["forbidden"], "rb") as f:
            f.read(1)

    def make_socket(family, kind):
        import socket

        socket.socket(family, kind).close()

    def write_file(path):
        with open(path, "wb") as f:
            f.write(b"x")

    def new_process():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)

    import socket

    if settings.get("forbidden"):
        attempt("it could read a file of the host outside its box", read_host_file)
    attempt("it could create a TCP socket", lambda: make_socket(socket.AF_INET, socket.SOCK_STREAM))
    attempt("it could create a Unix socket", lambda: make_socket(socket.AF_UNIX, socket.SOCK_STREAM))
    attempt("it could start a process", new_process)
    if hasattr(os, "memfd_create"):
        attempt("it could create an anonymous memory file (memfd_create)",
                lambda: os.close(os.memfd_create("selftest")))
    if settings.get("forbidden"):
        attempt("it could change the permissions of a file of the host", lambda: os.chmod(settings["forbidden"], 0o600))
        attempt("it could change the times of a file of the host", lambda: os.utime(settings["forbidden"], (0, 0)))
    attempt("it could stop dying with the grader (prctl PR_SET_PDEATHSIG)", _reset_death_signal)
    attempt("it could write into /dev/shm", lambda: write_file(f"/dev/shm/autograder-selftest-{os.getpid()}"))
    if settings["mechanism"] == "bwrap":
        attempt("it could write into its root folder", lambda: write_file("/autograder-selftest"))
    return found


def _reset_death_signal():
    """prctl(PR_SET_PDEATHSIG, SIGKILL) again: harmless if allowed, and it must not be allowed."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
