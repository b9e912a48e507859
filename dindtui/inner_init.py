#!/usr/bin/env python3
"""PID 1 of the dindtui image: prepare the container, run dockerd inside it, then a shell or TCP.

Standard library only: this file is copied into the image as /usr/local/bin/dindtui-init and
shares no code with the rest of dindtui at run time.

Modes (see docs/architecture.md, "The init"):
  shell mode   (no PORT, DINDTUI_MODE unset): daemon in the background, then the given command or
               an interactive login shell; exits with that command's status.
  daemon mode  (PORT=N, or DINDTUI_MODE=daemon): the daemon in the foreground of the container,
               on TCP port N with TLS when PORT is set; exits when stopped.
  seed         (`dindtui-init seed [--store=overlay2|containerd] ...`): hardlink images from a
               data root into a fresh one (overlay2 layers, or containerd's blobs and snapshots
               with new bolt databases); used by the engine before a child level starts.
  du           (`dindtui-init du JSON`): disk usage of level volumes by inode (hardlinked
               layers counted once); run by the engine in a helper container on a remote
               engine's machine.

Exit statuses: 0 ok (or the command's own), 2 bad input, 3 not enough privilege,
4 cgroup setup failed, 5 dockerd failed to start, 6 seeding failed.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import signal
import socket
import stat as stat_mod
import struct
import subprocess
import sys
import time

EXIT_BAD_INPUT = 2
EXIT_PRIVILEGE = 3
EXIT_CGROUP = 4
EXIT_DOCKERD = 5
EXIT_SEED = 6

CGROUP_ROOT = "/sys/fs/cgroup"
DOCKERD_LOG = "/var/log/dockerd.log"
SOCKET_TREE_DIR = "/run/dindtui"
CAP_SYS_ADMIN = 21
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                     signal.SIGUSR1, signal.SIGUSR2)
SI_KERNEL = 0x80  # si_code of signals the kernel sends (a tty's ^C), as opposed to kill(2)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


class InitError(Exception):
    """A failure that ends the init with one clear line and a distinct status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def log(message: str) -> None:
    print(f"dindtui-init: {message}", file=sys.stderr, flush=True)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


# --------------------------------------------------------------------------- file descriptors

def close_inherited_fds() -> list[int]:
    """Close every inherited descriptor above 2, so nothing the parent leaked reaches dockerd."""
    closed = []
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2:
            try:
                os.close(fd)
                closed.append(fd)
            except OSError:
                pass  # the descriptor of the listdir itself, already closed
    return closed


# --------------------------------------------------------------------------- input checks

def parse_port(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise InitError(f"PORT must be a TCP port number from 1 to 65535, got {value!r}",
                        EXIT_BAD_INPUT)
    return int(value)


def check_privileges() -> None:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                caps = int(line.split()[1], 16)
                break
        else:
            caps = 0
    if not caps & (1 << CAP_SYS_ADMIN):
        raise InitError("not enough privilege to run a Docker daemon: start this container with "
                        "the flags printed by `dindtui flags` (usually --privileged)",
                        EXIT_PRIVILEGE)


# --------------------------------------------------------------------------- mounts

def mountinfo() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount, in mount order."""
    mounts = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            left, _, right = line.partition(" - ")
            point = left.split()[4].replace("\\040", " ")
            mounts.append((point, right.split()[0]))
    return mounts


def mount(fstype: str, source: str, target: str, options: str | None = None) -> None:
    argv = ["mount", "-t", fstype]
    if options:
        argv += ["-o", options]
    result = run(*argv, source, target, check=False)
    if result.returncode != 0:
        raise OSError(result.stdout.strip() or f"mount {target} failed")


def remount_sys_rw() -> None:
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            if fields[4] == "/sys":
                if "ro" in fields[5].split(","):
                    result = run("mount", "-o", "remount,rw", "/sys", check=False)
                    if result.returncode != 0:
                        raise InitError("/sys is read-only and cannot be remounted: start this "
                                        "container with the flags from `dindtui flags`",
                                        EXIT_PRIVILEGE)
                return


def mount_securityfs() -> None:
    target = "/sys/kernel/security"
    if not os.path.isdir(target) or any(p == target for p, _ in mountinfo()):
        return
    try:
        mount("securityfs", "none", target)
    except OSError as exc:
        log(f"warning: could not mount securityfs ({exc}); AppArmor profiles will not load")


def detect_cgroup_version() -> str:
    forced = os.environ.get("DINDTUI_CGROUP", "").strip()
    if forced:
        if forced not in ("v1", "v2"):
            raise InitError(f"DINDTUI_CGROUP must be v1 or v2, got {forced!r}", EXIT_BAD_INPUT)
        return forced
    for point, fstype in mountinfo():
        if point == CGROUP_ROOT and fstype == "cgroup2":
            return "v2"
    return "v1"


def unmount_cgroups() -> None:
    mounted = [p for p, _ in mountinfo() if p == CGROUP_ROOT or p.startswith(CGROUP_ROOT + "/")]
    for point in sorted(set(mounted), key=len, reverse=True):
        run("umount", "-l", point, check=False)


def v1_hierarchies() -> list[list[str]]:
    """Groups of subsystems to mount together, following the kernel's own co-mounts."""
    by_hierarchy: dict[str, list[str]] = {}
    with open("/proc/cgroups") as cgroups:
        for line in cgroups:
            if line.startswith("#"):
                continue
            name, hierarchy, _, enabled = line.split()[:4]
            if enabled != "1":
                continue
            key = hierarchy if hierarchy != "0" else f"alone-{name}"
            by_hierarchy.setdefault(key, []).append(name)
    named = set()
    with open("/proc/self/cgroup") as own:
        for line in own:
            controllers = line.split(":")[1]
            for item in controllers.split(","):
                if item.startswith("name="):
                    named.add(item)
    named.add("name=systemd")
    return list(by_hierarchy.values()) + [[n] for n in sorted(named)]


def setup_cgroup_v1() -> None:
    unmount_cgroups()
    mount("tmpfs", "cgroup", CGROUP_ROOT, "mode=755")
    mounted_any = False
    for group in v1_hierarchies():
        is_named = group[0].startswith("name=")
        dirname = group[0][len("name="):] if is_named else ",".join(group)
        target = os.path.join(CGROUP_ROOT, dirname)
        os.makedirs(target, exist_ok=True)
        options = "none," + group[0] if is_named else ",".join(group)
        try:
            mount("cgroup", "cgroup", target, options)
        except OSError as exc:
            os.rmdir(target)
            log(f"warning: cgroup hierarchy {dirname} not mounted ({exc})")
            continue
        mounted_any = mounted_any or not is_named
        for subsystem in group if len(group) > 1 else []:
            link = os.path.join(CGROUP_ROOT, subsystem)
            if not os.path.exists(link):
                os.symlink(dirname, link)
    if not mounted_any:
        raise InitError("no cgroup v1 hierarchy could be mounted: start this container with the "
                        "flags from `dindtui flags`", EXIT_CGROUP)


def write_retrying(path: str, value: str, attempts: int = 20) -> None:
    for attempt in range(attempts):
        try:
            with open(path, "w") as handle:
                handle.write(value)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def setup_cgroup_v2() -> None:
    if not any(p == CGROUP_ROOT and t == "cgroup2" for p, t in mountinfo()):
        unmount_cgroups()
        mount("cgroup2", "cgroup2", CGROUP_ROOT)
    # No process may sit in the root of a cgroup whose subtree has controllers enabled, so every
    # process of this container moves into /init first (as moby's dind script does).
    init_group = os.path.join(CGROUP_ROOT, "init")
    os.makedirs(init_group, exist_ok=True)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                write_retrying(os.path.join(init_group, "cgroup.procs"), entry)
            except OSError as exc:
                if exc.errno not in (errno.ESRCH, errno.EINVAL):
                    raise
    with open(os.path.join(CGROUP_ROOT, "cgroup.controllers")) as handle:
        controllers = handle.read().split()
    for controller in controllers:
        try:
            write_retrying(os.path.join(CGROUP_ROOT, "cgroup.subtree_control"), "+" + controller)
        except OSError as exc:
            log(f"warning: cgroup v2 controller {controller} not enabled ({exc.strerror})")


def setup_cgroups() -> str:
    version = detect_cgroup_version()
    try:
        if version == "v2":
            setup_cgroup_v2()
        else:
            setup_cgroup_v1()
    except InitError:
        raise
    except OSError as exc:
        raise InitError(f"cgroup {version} setup failed: {exc}", EXIT_CGROUP) from None
    return version


# --------------------------------------------------------------------------- network

def choose_iptables() -> str:
    """Pick the iptables backend: the forced one, else legacy if the outer host uses it."""
    choice = os.environ.get("DINDTUI_IPTABLES", "").strip()
    if not choice:
        legacy = run("iptables-legacy-save", check=False)
        has_legacy_rules = legacy.returncode == 0 and any(
            line.startswith("-A") for line in legacy.stdout.splitlines())
        nft = run("iptables-nft", "-nL", check=False)
        choice = "legacy" if has_legacy_rules or nft.returncode != 0 else "nft"
    if choice not in ("legacy", "nft"):
        raise InitError(f"DINDTUI_IPTABLES must be legacy or nft, got {choice!r}", EXIT_BAD_INPUT)
    for tool in ("iptables", "ip6tables"):
        path = f"/usr/sbin/{tool}-{choice}"
        if os.path.exists(path):
            run("update-alternatives", "--set", tool, path, check=False)
    return choice


def outer_mtu() -> int | None:
    """MTU of the interface holding the default route, so nested bridges do not fragment."""
    try:
        with open("/proc/net/route") as routes:
            next(routes)
            for line in routes:
                fields = line.split()
                if fields[1] == "00000000":
                    with open(f"/sys/class/net/{fields[0]}/mtu") as mtu:
                        return int(mtu.read())
    except (OSError, StopIteration, ValueError):
        pass
    return None


# --------------------------------------------------------------------------- TLS

CA_CONFIG = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = dindtui CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
LEAF_EXTENSIONS = """basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = {usage}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""


def ensure_certs(certdir: str) -> None:
    """CA, server and client certificates, made once and kept in the /certs volume. P-256 keys
    (fast to make), every private key 0600, and the extensions strict TLS clients require
    (Python 3.13's ssl checks keyUsage, basicConstraints and the key identifiers)."""
    ca, server, client = (os.path.join(certdir, d) for d in ("ca", "server", "client"))
    if all(os.path.exists(os.path.join(d, f)) for d, f in
           ((server, "cert.pem"), (client, "cert.pem"), (client, "key.pem"))):
        return
    old = os.umask(0o077)  # keys are private from the instant they exist
    try:
        for directory in (ca, server, client):
            os.makedirs(directory, mode=0o700, exist_ok=True)
        _make_certs(ca, server, client)
    finally:
        os.umask(old)
    for directory in (ca, server, client):
        os.chmod(directory, 0o700 if directory == ca else 0o755)
        for name in os.listdir(directory):
            os.chmod(os.path.join(directory, name), 0o600 if name == "key.pem" else 0o644)


def _make_certs(ca: str, server: str, client: str) -> None:
    hostname = socket.gethostname()
    sans = ["DNS:localhost", f"DNS:{hostname}", "IP:127.0.0.1", "IP:::1"]
    try:
        sans += [f"IP:{ip}" for ip in run("hostname", "-i").stdout.split() if ip]
    except (OSError, subprocess.CalledProcessError):
        pass
    sans += [s.strip() for s in os.environ.get("DOCKER_TLS_SAN", "").split(",") if s.strip()]

    def openssl(*argv: str) -> None:
        result = run("openssl", *argv, check=False)
        if result.returncode != 0:
            raise InitError(f"openssl {argv[0]} failed: {result.stdout.strip()}")

    def new_key(path: str) -> None:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", path)

    new_key(f"{ca}/key.pem")
    with open(f"{ca}/ca.cnf", "w") as handle:
        handle.write(CA_CONFIG)
    openssl("req", "-new", "-x509", "-days", "825", "-sha256", "-config", f"{ca}/ca.cnf",
            "-extensions", "v3_ca", "-key", f"{ca}/key.pem", "-out", f"{ca}/cert.pem")
    os.remove(f"{ca}/ca.cnf")
    for directory, name, usage in ((server, hostname, "serverAuth"), (client, "client",
                                                                      "clientAuth")):
        new_key(f"{directory}/key.pem")
        openssl("req", "-new", "-sha256", "-key", f"{directory}/key.pem", "-subj", f"/CN={name}",
                "-out", f"{directory}/csr.pem")
        extensions = f"{directory}/openssl.cnf"
        with open(extensions, "w") as handle:
            handle.write(LEAF_EXTENSIONS.format(usage=usage))
            if usage == "serverAuth":
                handle.write("subjectAltName=" + ",".join(sans) + "\n")
        openssl("x509", "-req", "-days", "825", "-sha256", "-in", f"{directory}/csr.pem",
                "-CA", f"{ca}/cert.pem", "-CAkey", f"{ca}/key.pem", "-CAcreateserial",
                "-out", f"{directory}/cert.pem", "-extfile", extensions)
        copy_file(f"{ca}/cert.pem", f"{directory}/ca.pem")
        for leftover in ("csr.pem", "openssl.cnf"):
            os.remove(os.path.join(directory, leftover))


# --------------------------------------------------------------------------- dockerd

def remove_stale_pid_files() -> None:
    for path in ("/var/run/docker.pid", "/run/docker/containerd/containerd.pid",
                 "/var/run/docker/containerd/containerd.pid", "/run/containerd/containerd.pid"):
        try:
            os.remove(path)
        except OSError:
            pass


STORES = ("overlay2", "containerd")
DAEMON_JSON = "/etc/docker/daemon.json"


def image_store() -> str | None:
    """DINDTUI_STORE: the image store of this level's daemon (unset: Docker's own default)."""
    store = os.environ.get("DINDTUI_STORE", "").strip()
    if store and store not in STORES:
        raise InitError(f"DINDTUI_STORE must be overlay2 or containerd, got {store!r}",
                        EXIT_BAD_INPUT)
    return store or None


def write_store_config(store: str | None, path: str = DAEMON_JSON) -> None:
    """Docker 26 turns the containerd image store on in daemon.json (`--feature` does not
    exist there); other settings in the file are kept."""
    if store is None:
        return
    config: dict = {}
    try:
        with open(path) as f:
            config = json.load(f)
    except FileNotFoundError:
        pass
    except ValueError as exc:
        raise InitError(f"{path} is not JSON ({exc}): cannot choose the image store",
                        EXIT_BAD_INPUT) from None
    config.setdefault("features", {})["containerd-snapshotter"] = store == "containerd"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(config, f)
    os.replace(path + ".tmp", path)


def dockerd_argv(port: int | None, tls_dir: str | None, mtu: int | None) -> list[str]:
    argv = ["dockerd", "--host=unix:///var/run/docker.sock"]
    if os.path.isdir(SOCKET_TREE_DIR) and os.path.ismount(SOCKET_TREE_DIR):
        try:
            os.remove(os.path.join(SOCKET_TREE_DIR, "docker.sock"))
        except OSError:
            pass
        argv.append(f"--host=unix://{SOCKET_TREE_DIR}/docker.sock")
    if port is not None:
        argv.append(f"--host=tcp://0.0.0.0:{port}")
        if tls_dir:
            argv += ["--tlsverify", f"--tlscacert={tls_dir}/server/ca.pem",
                     f"--tlscert={tls_dir}/server/cert.pem", f"--tlskey={tls_dir}/server/key.pem"]
        else:
            argv.append("--tls=false")
    if mtu:
        argv.append(f"--mtu={mtu}")
    gid = os.environ.get("DINDTUI_SOCKET_GID", "")
    if gid:
        if not (gid.isascii() and gid.isdigit()):
            raise InitError(f"DINDTUI_SOCKET_GID must be a group number, got {gid!r}",
                            EXIT_BAD_INPUT)
        argv.append(f"--group={gid}")  # the host's group for the socket, not the image's
    # containerd keeps the containers running while dockerd restarts after a crash; the init
    # stops them itself on a real shutdown (Daemons.stop).
    argv.append("--live-restore")
    argv.append(f"--shutdown-timeout={shutdown_timeout():g}")
    argv += os.environ.get("DOCKERD_ARGS", "").split()
    return argv


def shutdown_timeout() -> float:
    return env_seconds("DINDTUI_SHUTDOWN_TIMEOUT", 5)


def env_seconds(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < 1e6:
        raise InitError(f"{name} must be a number of seconds above 0, got {value!r}",
                        EXIT_BAD_INPUT)
    return number


def spawn(argv: list[str], stdout_path: str | None = None, env: dict | None = None,
          session: bool = False) -> int:
    """Start a child with a clean signal mask (ours blocks the signals we wait for); `session`
    puts it in a session of its own, out of reach of the terminal's ^C and ^Z."""
    actions = []
    if stdout_path:
        actions = [(os.POSIX_SPAWN_OPEN, 1, stdout_path,
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
                   (os.POSIX_SPAWN_DUP2, 1, 2)]
    return os.posix_spawnp(argv[0], argv, env if env is not None else os.environ,
                           file_actions=actions, setsigmask=(), setsigdef=FORWARDED_SIGNALS,
                           setsid=session)


def ping(path: str = "/var/run/docker.sock", timeout: float = 1.0) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return sock.recv(64).split(b" ")[1:2] == [b"200"]
    except (OSError, IndexError):
        return False


def tail(path: str, lines: int = 5) -> str:
    try:
        with open(path, errors="replace") as handle:
            return " | ".join(line.strip() for line in handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


class Supervisor:
    """PID 1's loop: reaps every child, forwards signals, remembers the children it cares about."""

    def __init__(self) -> None:
        self.status: dict[int, int] = {}
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD, *FORWARDED_SIGNALS})

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.status[pid] = os.waitstatus_to_exitcode(status)

    def wait(self, timeout: float) -> signal.struct_siginfo | None:
        """Wait for a signal up to `timeout` seconds; reap; return a signal to act on, if any."""
        info = signal.sigtimedwait({signal.SIGCHLD, *FORWARDED_SIGNALS}, max(timeout, 0.01))
        self.reap()
        if info is None or info.si_signo == signal.SIGCHLD:
            return None
        return info

    def alive(self, pid: int) -> bool:
        return pid not in self.status

    def stop(self, pid: int, grace: float, sig: int = signal.SIGTERM) -> None:
        if not self.alive(pid):
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while self.alive(pid) and time.monotonic() < deadline:
            self.wait(deadline - time.monotonic())
        if self.alive(pid):
            os.kill(pid, signal.SIGKILL)
            while self.alive(pid):
                self.wait(1)


SEED_MARKER = ".dindtui-seed"
SEED_DB_MARKER = ".dindtui-seed-db"  # a containerd seed's databases are in place
CONTAINERD = "/usr/bin/containerd"
CONTAINERD_SOCKET = "/var/run/docker/containerd/containerd.sock"
CONTAINERD_CONFIG = "/run/dindtui-containerd.toml"
CONTAINERD_PID = "/run/dindtui-containerd.pid"  # this level's own (pidof also sees deeper ones)


class Stopping(Exception):
    """SIGTERM/SIGINT/SIGQUIT arrived while the init was busy (starting or restarting)."""

    def __init__(self, signo: int):
        super().__init__(signo)
        self.signo = signo


class Daemons:
    """containerd and dockerd: started together, supervised (a daemon that dies is started
    again, with a back-off), stopped together."""

    MAX_CRASHES = 5        # in CRASH_WINDOW seconds: then the level gives up, with a status
    CRASH_WINDOW = 120.0

    def __init__(self, sup: Supervisor, argv: list[str], foreground_log: bool) -> None:
        self.sup = sup
        self.argv = argv
        self.foreground_log = foreground_log
        self.log_path = None if foreground_log else DOCKERD_LOG
        self.containerd: int | None = None
        self.dockerd: int | None = None
        self.crashes: list[float] = []
        self.restarts = 0

    def grace(self) -> float:
        return shutdown_timeout() + 3

    def ready_deadline(self) -> float:
        return time.monotonic() + env_seconds("DINDTUI_READY_TIMEOUT", 60)

    def start(self) -> None:
        """containerd first, so dockerd connects at once instead of after its own start-up
        back-off (about a second saved on every level), then dockerd until it answers."""
        remove_stale_pid_files()
        deadline = self.ready_deadline()
        seeded = os.environ.get("DINDTUI_AWAIT_SEED") == "1"
        # A seed of the containerd image store writes containerd's own databases: containerd
        # may only open them once the seed is complete. An overlay2 seed is dockerd's alone.
        if seeded and image_store() == "containerd":
            self._await_seed(deadline, databases_only=True)
        self._start_containerd(deadline)
        if seeded:
            self._await_seed(deadline)
        self._start_dockerd(deadline)

    def _start_containerd(self, deadline: float) -> None:
        if not os.access(CONTAINERD, os.X_OK):
            return
        with open(CONTAINERD_CONFIG, "w") as config:
            config.write('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
        self.containerd = spawn([CONTAINERD, "--config", CONTAINERD_CONFIG,
                                 "--address", CONTAINERD_SOCKET,
                                 "--root", "/var/lib/docker/containerd/daemon",
                                 "--state", "/var/run/docker/containerd/daemon"],
                                self.log_path, session=True)
        with open(CONTAINERD_PID, "w") as handle:
            handle.write(f"{self.containerd}\n")
        self._wait("containerd", self.containerd, lambda: connects(CONTAINERD_SOCKET), deadline)

    def _start_dockerd(self, deadline: float) -> None:
        argv = self.argv + ([f"--containerd={CONTAINERD_SOCKET}"] if self.containerd else [])
        try:
            os.remove("/var/run/docker.pid")
        except OSError:
            pass
        self.dockerd = spawn(argv, self.log_path, session=True)
        self._wait("dockerd", self.dockerd, ping, deadline)

    def _wait(self, name: str, pid: int, answers, deadline: float):
        while not answers():
            if not self.sup.alive(pid):
                self.stop()
                raise InitError(f"{name} exited with status {self.sup.status[pid]} before "
                                "answering: " + ("see the log above" if self.foreground_log
                                                 else tail(DOCKERD_LOG)), EXIT_DOCKERD)
            if time.monotonic() > deadline:
                self.stop()
                raise InitError(f"{name} did not answer within the ready timeout: "
                                f"{tail(DOCKERD_LOG)}", EXIT_DOCKERD)
            info = self.sup.wait(0.02)
            if info is not None and info.si_signo in STOP_SIGNALS:
                self.stop()
                raise Stopping(info.si_signo)

    def _await_seed(self, deadline: float, databases_only: bool = False) -> None:
        """The engine seeds this level's data root while the container starts: dockerd may
        only read it once the seeder has written its marker. `databases_only`: return as soon
        as a containerd seed has written containerd's databases (its blobs and snapshot trees
        are still being linked; containerd only reads them when asked for an image)."""
        markers = [os.path.join("/var/lib/docker", SEED_MARKER)]
        if databases_only:
            markers.append(os.path.join("/var/lib/docker", SEED_DB_MARKER))
        outcome = None
        while outcome is None:
            for marker in markers:
                try:
                    with open(marker) as handle:
                        outcome = handle.read().strip()
                    break
                except FileNotFoundError:
                    pass
            if outcome is not None:
                break
            if time.monotonic() > deadline:
                self.stop()
                raise InitError("the image seed did not finish within the ready timeout",
                                EXIT_SEED)
            info = self.sup.wait(0.02)
            if info is not None and info.si_signo in STOP_SIGNALS:
                self.stop()
                raise Stopping(info.si_signo)
        if outcome != "ok":
            self.stop()
            raise InitError(f"the image seed failed: {outcome}", EXIT_SEED)

    def supervise(self) -> None:
        """Call after every wake-up: start again whichever daemon died. containerd holds the
        level's containers (the levels below included) and dockerd runs with live-restore, so
        neither restart stops them. Gives up, with a status, after too many crashes."""
        containerd_died = self.containerd is not None and not self.sup.alive(self.containerd)
        dockerd_died = self.dockerd is not None and not self.sup.alive(self.dockerd)
        if not containerd_died and not dockerd_died:
            return
        now = time.monotonic()
        self.crashes = [t for t in self.crashes if now - t < self.CRASH_WINDOW] + [now]
        which = "containerd" if containerd_died else "dockerd"
        died = self.containerd if containerd_died else self.dockerd
        assert died is not None
        status = self.sup.status[died]
        if len(self.crashes) > self.MAX_CRASHES:
            self.stop()
            raise InitError(f"{which} exited with status {status}, the {len(self.crashes)}th "
                            f"crash in {self.CRASH_WINDOW:.0f}s: giving up", EXIT_DOCKERD)
        delay = min(0.25 * 2 ** (len(self.crashes) - 1), 8.0)
        log(f"{which} exited unexpectedly (status {status}); starting it again in {delay:g}s")
        self._pause(delay)
        deadline = self.ready_deadline()
        if containerd_died:
            # dockerd must make its connection to containerd anew: restart it too, gracefully
            # (live-restore: its containers stay up).
            if self.dockerd is not None and self.sup.alive(self.dockerd):
                self.sup.stop(self.dockerd, self.grace())
            self._start_containerd(deadline)
        self._start_dockerd(deadline)
        self.restarts += 1
        log(f"{which} is back; the daemon answers again (restart {self.restarts})")

    def _pause(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            info = self.sup.wait(until - time.monotonic())
            if info is not None and info.si_signo in STOP_SIGNALS:
                self.stop()
                raise Stopping(info.si_signo)

    def stop_containers(self) -> bool:
        """dockerd runs with live-restore, which leaves containers running when it stops: stop
        them first, as dockerd would, all at once: each with its own stop timeout when it has
        one (a level nested here has, to stop what runs inside it first), else the shutdown
        timeout. What ran is written down, so that the next start brings back the containers
        whose restart policy asks for it (`restart_after_reboot`). False when dockerd could
        not stop them within their budget: a daemon that broken gets no long grace after."""
        if self.dockerd is None or not self.sup.alive(self.dockerd):
            return True
        timeout = int(shutdown_timeout() + 0.999)
        healthy = True
        try:
            running = [c for c in docker_inspect(docker_ids("status=running"))
                       if isinstance(c, dict) and isinstance(c.get("Id"), str)]
            write_reboot_record([c["Id"] for c in running])
            groups: dict[int, list[str]] = {}
            for container in running:
                own = (container.get("Config") or {}).get("StopTimeout")
                wait = own if isinstance(own, int) and 0 <= own <= 600 else timeout
                groups.setdefault(wait, []).append(container["Id"])
            stopping = [(subprocess.Popen(["docker", "stop", f"--time={wait}", *ids],
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL), wait)
                        for wait, ids in groups.items()]
            # One budget for them all: the longest stop timeout, and two seconds for dockerd
            # to report (a daemon that cannot, its containerd broken, is not waited for).
            deadline = time.monotonic() + max(groups, default=0) + 2
            for process, _ in stopping:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    healthy = False
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            log(f"warning: stopping the containers before dockerd failed ({exc})")
            healthy = False
        if not healthy:
            log("dockerd did not stop the containers within their stop timeout: it is stopped "
                "with a short grace")
        return healthy

    def restart_after_reboot(self) -> None:
        """What a reboot does for Docker, for this level after it was stopped or killed: start
        again every stopped container whose restart policy is `always`, and every
        `unless-stopped` one that the user did not stop (it was running when the level went
        down). Levels nested here are left to `dindtui revive`, which starts them parents
        first. Never fails the level: a problem is a log line."""
        recorded = read_reboot_record()
        try:
            containers = "/var/lib/docker/containers"
            if not recorded and not (os.path.isdir(containers) and os.listdir(containers)):
                return  # a new level: nothing to bring back, and no time spent on it
            chosen = []
            for container in docker_inspect(docker_ids("status=exited")):
                if not isinstance(container, dict) or not isinstance(container.get("Id"), str):
                    continue
                labels = (container.get("Config") or {}).get("Labels") or {}
                if "dindtui.owner" in labels:
                    continue
                policy = ((container.get("HostConfig") or {}).get("RestartPolicy") or {}).get(
                    "Name")
                if policy == "always" or (policy == "unless-stopped" and (
                        container["Id"] in recorded or not manually_stopped(container["Id"]))):
                    chosen.append(container["Id"])
            if chosen:
                started = subprocess.run(["docker", "start", *chosen], capture_output=True,
                                         text=True, timeout=60)
                log(f"started {len(chosen)} container(s) again, as their restart policy asks "
                    "after a restart" + (f" ({started.stderr.strip()[-200:]})"
                                          if started.returncode else ""))
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            log(f"warning: restarting containers after the level's restart failed ({exc})")
        finally:
            try:
                os.remove(REBOOT_RECORD)
            except OSError:
                pass

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Containers, then dockerd, then containerd: the two daemons share one grace period
        (each exits in well under a second when healthy), then are killed."""
        healthy = self.stop_containers()
        deadline = time.monotonic() + (self.grace() if healthy else 1.0)
        for pid in (self.dockerd, self.containerd):
            if pid is not None:
                self.sup.stop(pid, max(deadline - time.monotonic(), 0.5), sig)


REBOOT_RECORD = "/var/lib/docker/.dindtui-running"  # containers running when the level stopped
CONTAINER_ID = re.compile(r"[0-9a-f]{64}")


def docker_ids(status_filter: str) -> list[str]:
    listed = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", status_filter],
                            capture_output=True, text=True, timeout=20)
    return [i for i in listed.stdout.split() if CONTAINER_ID.fullmatch(i)]


def docker_inspect(ids: list[str]) -> list:
    if not ids:
        return []
    found = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True,
                           timeout=30)
    data = json.loads(found.stdout or "[]")
    return data if isinstance(data, list) else []


def write_reboot_record(ids: list[str]) -> None:
    try:
        with open(REBOOT_RECORD + ".tmp", "w") as handle:
            json.dump(ids, handle)
        os.replace(REBOOT_RECORD + ".tmp", REBOOT_RECORD)
    except OSError as exc:
        log(f"warning: cannot note the running containers ({exc})")


def read_reboot_record() -> set[str]:
    """The ids written at the last stop: a file in the level's volume, so read as any
    file there, bounded and checked."""
    try:
        with open(REBOOT_RECORD, "rb") as handle:
            ids = json.loads(handle.read(1 << 20))
    except (OSError, ValueError):
        return set()
    return {i for i in ids if isinstance(i, str) and CONTAINER_ID.fullmatch(i)} \
        if isinstance(ids, list) else set()


def manually_stopped(container_id: str) -> bool:
    """dockerd's own record of a `docker stop` (HasBeenManuallyStopped); True when unsure."""
    try:
        with open(os.path.join("/var/lib/docker/containers", container_id, "config.v2.json"),
                  "rb") as handle:
            config = json.loads(handle.read(8 << 20))
    except (OSError, ValueError):
        return True
    return not isinstance(config, dict) or config.get("HasBeenManuallyStopped") is not False


def connects(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            sock.connect(path)
            return True
    except OSError:
        return False


def login_shell() -> list[str]:
    try:
        with open("/etc/passwd") as passwd:
            for line in passwd:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 7 and fields[2] == str(os.getuid()):
                    if fields[6] and os.access(fields[6], os.X_OK) and \
                            not fields[6].endswith(("nologin", "false")):
                        return [fields[6], "-l"]
    except OSError:
        pass
    for candidate in ("/bin/bash", "/bin/sh"):
        if os.access(candidate, os.X_OK):
            return [candidate, "-l"]
    raise InitError("no shell found in the image (tried the login shell, bash and sh)")


def shell_mode(sup: Supervisor, daemons: Daemons, command: list[str]) -> int:
    interactive = not command
    argv = command or login_shell()
    try:
        child = spawn(argv)
    except OSError as exc:
        daemons.stop()
        raise InitError(f"cannot run {argv[0]}: {exc.strerror}", 127) from None
    supervising = True
    while sup.alive(child):
        info = sup.wait(1.0)
        if supervising:
            try:
                daemons.supervise()  # a crash is printed on the terminal, then repaired
            except Stopping as stopping:
                info = None
                os.kill(child, signal.SIGHUP if interactive else stopping.signo)
                sup.stop(child, 2, signal.SIGCONT)
            except InitError as exc:
                log(f"error: {exc}; the shell goes on without a daemon")
                supervising = False
        if info is None:
            continue
        if info.si_code == SI_KERNEL:
            continue  # a terminal's ^C or ^\ already reached the foreground command itself
        if info.si_signo == signal.SIGTERM:
            # docker stop: an interactive shell ignores SIGTERM, a hang-up ends it.
            os.kill(child, signal.SIGHUP if interactive else signal.SIGTERM)
            sup.stop(child, 2, signal.SIGCONT)
        else:
            os.kill(child, info.si_signo)
    code = sup.status[child]
    daemons.stop()
    return code if code >= 0 else 128 - code


def daemon_mode(sup: Supervisor, daemons: Daemons) -> int:
    while True:
        info = sup.wait(5.0)
        try:
            daemons.supervise()
        except Stopping:
            return 0
        if info is None:
            continue
        if info.si_signo in STOP_SIGNALS:
            daemons.stop(info.si_signo)
            return 0
        if daemons.dockerd is not None and sup.alive(daemons.dockerd):
            os.kill(daemons.dockerd, info.si_signo)  # SIGHUP reloads dockerd's configuration


def _stop_now(signo: int, _frame) -> None:
    raise Stopping(signo)


def init(command: list[str]) -> int:
    # PID 1 ignores signals it has no handler for: until the supervisor takes them over (it
    # blocks them and waits), SIGTERM ends the start-up at once, certificates included.
    for signo in STOP_SIGNALS:
        signal.signal(signo, _stop_now)
    close_inherited_fds()
    port = parse_port(os.environ.get("PORT"))
    mode = os.environ.get("DINDTUI_MODE", "").strip() or ("daemon" if port else "shell")
    if mode not in ("daemon", "shell"):
        raise InitError(f"DINDTUI_MODE must be daemon or shell, got {mode!r}", EXIT_BAD_INPUT)
    shutdown_timeout()
    env_seconds("DINDTUI_READY_TIMEOUT", 60)
    store = image_store()
    if os.getpid() != 1 and os.getppid() != 1:
        log("warning: neither PID 1 nor a child of PID 1 (tini, docker --init): orphaned "
            "processes may not be reaped")
    check_privileges()
    remount_sys_rw()
    mount_securityfs()
    cgroup = setup_cgroups()
    iptables = choose_iptables()
    mtu = outer_mtu()
    tls_dir = None
    if port is not None:
        certdir = os.environ.get("DOCKER_TLS_CERTDIR", "/certs")
        if certdir:
            ensure_certs(certdir)
            tls_dir = certdir
        else:
            log(f"warning: DOCKER_TLS_CERTDIR is empty: the daemon listens on TCP port {port} "
                "WITHOUT TLS; anyone who reaches that port is root on this host")
    write_store_config(store)
    argv = dockerd_argv(port, tls_dir, mtu)
    sup = Supervisor()
    daemons = Daemons(sup, argv, foreground_log=(mode == "daemon"))
    daemons.start()
    where = f"tcp port {port}" + (" (TLS)" if tls_dir else " (plain)") if port else "unix socket"
    log(f"dockerd ready on {where}; cgroup {cgroup}, iptables {iptables}"
        + (f", mtu {mtu}" if mtu else ""))
    daemons.restart_after_reboot()
    if mode == "daemon":
        return daemon_mode(sup, daemons)
    return shell_mode(sup, daemons, command)


# --------------------------------------------------------------------------- bolt databases
# containerd keeps its metadata in bbolt files (go.etcd.io/bbolt). Seeding a containerd image
# store reads the parent's two databases and writes fresh ones holding only what the seeded
# images need. The format, from bbolt's page.go/meta.go: pages of `page_size` bytes, each with a
# 16-byte header (id u64, flags u16, count u16, overflow u32); pages 0 and 1 are metas (the valid
# one with the higher txid wins), then a freelist and the B+tree pages. A leaf element is
# (flags u32, pos u32, ksize u32, vsize u32), a branch element (pos u32, ksize u32, pgid u64),
# `pos` counted from the element itself. A bucket is a leaf value flagged 1: its root page id and
# sequence (u64 each), followed, when the root is 0, by an inline page.

BOLT_MAGIC, BOLT_VERSION = 0xED0CDAED, 2
PAGE_BRANCH, PAGE_LEAF, PAGE_META, PAGE_FREELIST = 0x01, 0x02, 0x04, 0x10
BUCKET_LEAF = 0x01
PAGE_HEADER = struct.Struct("<QHHI")
LEAF_ELEMENT = struct.Struct("<IIII")
BRANCH_ELEMENT = struct.Struct("<IIQ")
META = struct.Struct("<IIII QQ QQQ")   # magic, version, page size, flags, root (pgid, sequence),
                                       # freelist, high-water pgid, txid; then a u64 checksum


class Bucket:
    """One bolt bucket in memory: its sequence (NextSequence's counter) and its keys, whose
    values are bytes or nested Buckets."""

    def __init__(self, sequence: int = 0, items: dict | None = None):
        self.sequence = sequence
        self.items: dict[bytes, bytes | Bucket] = items if items is not None else {}

    def bucket(self, *path: str | bytes) -> Bucket | None:
        node: Bucket | None = self
        for name in path:
            child = node.items.get(name.encode() if isinstance(name, str) else name) \
                if node is not None else None
            node = child if isinstance(child, Bucket) else None
        return node

    def value(self, key: str) -> bytes | None:
        value = self.items.get(key.encode())
        return value if isinstance(value, bytes) else None


def _fnv64a(data: bytes) -> int:
    value = 0xcbf29ce484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return value


BOLT_MAX_BYTES = 1 << 30     # a database larger than this is not read
BOLT_MAX_PAGES = 1 << 20     # pages visited in one database at the most
BOLT_MAX_NESTING = 64        # buckets inside buckets


def bolt_read(path: str) -> tuple[Bucket, int, int]:
    """The whole database as a tree of Buckets, its page size and txid. The file is read until
    two reads agree, so that a commit by the daemon owning it cannot tear the copy.

    The file is another daemon's (a level's, whose containers may have written it): every
    page id, count, offset and size is checked against the file, every page is read at most
    once (a page reached twice, as in a loop, ends the read), and so is the nesting and the
    number of pages; anything wrong is an InitError, never a hang, a crash or a read outside
    the file."""
    def broken(why: str) -> InitError:
        return InitError(f"{path} is not a readable bolt database: {why}", EXIT_SEED)

    def read_whole() -> bytes:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > BOLT_MAX_BYTES:
                raise broken(f"larger than {BOLT_MAX_BYTES} bytes")
            return handle.read(BOLT_MAX_BYTES + 1)

    data = read_whole()
    for _ in range(20):
        again = read_whole()
        if again == data:
            break
        data = again
        time.sleep(0.01)
    else:
        raise InitError(f"{path} kept changing while it was read", EXIT_SEED)
    if len(data) < 2 * 1024:
        raise broken("too short")
    page_size = struct.unpack_from("<I", data, PAGE_HEADER.size + 8)[0]
    if page_size < 1024 or page_size > 65536 or page_size & (page_size - 1):
        page_size = 4096     # meta 0 torn: bbolt then also tries the OS page size
    metas = []
    for offset in (0, page_size):
        if offset + PAGE_HEADER.size + META.size + 8 > len(data):
            continue
        fields = META.unpack_from(data, offset + PAGE_HEADER.size)
        checksum = struct.unpack_from("<Q", data, offset + PAGE_HEADER.size + META.size)[0]
        body = data[offset + PAGE_HEADER.size:offset + PAGE_HEADER.size + META.size]
        if fields[0] == BOLT_MAGIC and fields[1] == BOLT_VERSION and _fnv64a(body) == checksum \
                and 1024 <= fields[2] <= 65536 and not fields[2] & (fields[2] - 1):
            metas.append(fields)
    if not metas:
        raise InitError(f"{path} is not a bolt database", EXIT_SEED)
    meta = max(metas, key=lambda m: m[8])
    page_size = meta[2]
    visited: set[int] = set()

    def page(pgid: int) -> tuple[int, int]:
        """(offset, end) of page `pgid` and its overflow pages, checked."""
        if pgid < 2 or pgid in visited:
            raise broken(f"page {pgid} is reached twice or is a meta page")
        if len(visited) >= BOLT_MAX_PAGES:
            raise broken(f"more than {BOLT_MAX_PAGES} pages")
        offset = pgid * page_size
        if offset + PAGE_HEADER.size > len(data):
            raise broken(f"page {pgid} lies past the end of the file")
        visited.add(pgid)
        overflow = PAGE_HEADER.unpack_from(data, offset)[3]
        end = offset + (overflow + 1) * page_size
        if end > len(data):
            end = len(data)   # bbolt may leave the file's last page short
        return offset, end

    def read_node(buffer: bytes, offset: int, end: int, into: Bucket, nesting: int) -> None:
        pending = [(buffer, offset, end)]
        while pending:
            buf, at0, limit = pending.pop()
            _, flags, count, _ = PAGE_HEADER.unpack_from(buf, at0)
            elements = at0 + PAGE_HEADER.size
            size = BRANCH_ELEMENT.size if flags & PAGE_BRANCH else LEAF_ELEMENT.size
            if elements + count * size > limit:
                raise broken(f"{count} elements do not fit their page")
            if flags & PAGE_BRANCH:
                for i in range(count):
                    _, _, pgid = BRANCH_ELEMENT.unpack_from(buf, elements + i * size)
                    child, child_end = page(pgid)
                    pending.append((data, child, child_end))
            elif flags & PAGE_LEAF:
                for i in range(count):
                    at = elements + i * size
                    eflags, pos, ksize, vsize = LEAF_ELEMENT.unpack_from(buf, at)
                    if at + pos + ksize + vsize > limit:
                        raise broken("a key or value runs past its page")
                    key = bytes(buf[at + pos:at + pos + ksize])
                    value = bytes(buf[at + pos + ksize:at + pos + ksize + vsize])
                    into.items[key] = bucket(value, nesting + 1) if eflags & BUCKET_LEAF \
                        else value
            else:
                raise broken(f"a page has unknown flags {flags:#x}")

    def bucket(header: bytes, nesting: int) -> Bucket:
        if nesting > BOLT_MAX_NESTING:
            raise broken(f"buckets nested more than {BOLT_MAX_NESTING} deep")
        if len(header) < 16:
            raise broken("a bucket header is short")
        root, sequence = struct.unpack_from("<QQ", header)
        result = Bucket(sequence)
        if root == 0:            # an inline bucket: its page follows the header
            if len(header) < 16 + PAGE_HEADER.size:
                raise broken("an inline bucket is short")
            read_node(header, 16, len(header), result, nesting)
        else:
            offset, end = page(root)
            read_node(data, offset, end, result, nesting)
        return result

    root = Bucket(meta[5])
    offset, end = page(meta[4])
    read_node(data, offset, end, root, 0)
    return root, page_size, meta[8]


def bolt_write(path: str, root: Bucket, page_size: int, txid: int) -> None:
    """Write `root` as a fresh bolt database: metas, an empty freelist, then every bucket's
    leaves (sorted keys, as bolt's binary search needs), with branch pages above when a bucket
    needs more than one leaf. bbolt reads it as any other file and rewrites pages as it goes."""
    pages: list[bytes] = []              # page-aligned blobs, starting at page 3
    next_pgid = [3]

    def put(flags: int, elements: list[tuple], branch: bool) -> int:
        size = PAGE_HEADER.size + len(elements) * 16
        size += sum(len(key) + (0 if branch else len(value)) for key, *_, value in elements)
        pgid = next_pgid[0]
        overflow = (size + page_size - 1) // page_size - 1
        buffer = bytearray((overflow + 1) * page_size)
        PAGE_HEADER.pack_into(buffer, 0, pgid, flags, len(elements), overflow)
        data_at = PAGE_HEADER.size + len(elements) * 16
        for i, element in enumerate(elements):
            at = PAGE_HEADER.size + i * 16
            if branch:
                key, child = element[0], element[1]
                BRANCH_ELEMENT.pack_into(buffer, at, data_at - at, len(key), child)
                buffer[data_at:data_at + len(key)] = key
                data_at += len(key)
            else:
                key, eflags, value = element
                LEAF_ELEMENT.pack_into(buffer, at, eflags, data_at - at, len(key), len(value))
                buffer[data_at:data_at + len(key) + len(value)] = key + value
                data_at += len(key) + len(value)
        pages.append(bytes(buffer))
        next_pgid[0] += overflow + 1
        return pgid

    def write_bucket(bucket: Bucket) -> int:
        elements = []
        for key in sorted(bucket.items):
            value = bucket.items[key]
            if isinstance(value, Bucket):
                child = write_bucket(value)
                elements.append((key, BUCKET_LEAF, struct.pack("<QQ", child, value.sequence)))
            else:
                elements.append((key, 0, value))
        leaves: list[list] = []
        current: list = []
        used = PAGE_HEADER.size
        for element in elements:
            size = 16 + len(element[0]) + len(element[2])
            if current and (used + size > page_size or len(current) == 0xFFFF):
                leaves.append(current)
                current, used = [], PAGE_HEADER.size
            current.append(element)
            used += size
        leaves.append(current)
        level = [(leaf[0][0] if leaf else b"", put(PAGE_LEAF, leaf, False)) for leaf in leaves]
        while len(level) > 1:     # branch pages until one root
            level = [(group[0][0], put(PAGE_BRANCH, [(k, p, b"") for k, p in group], True))
                     for group in (level[i:i + 0xFFFF] for i in range(0, len(level), 0xFFFF))]
        return level[0][1]

    root_pgid = write_bucket(root)
    with open(path + ".tmp", "wb") as handle:
        for pgid in (0, 1):
            page = bytearray(page_size)
            PAGE_HEADER.pack_into(page, 0, pgid, PAGE_META, 0, 0)
            body = META.pack(BOLT_MAGIC, BOLT_VERSION, page_size, 0, root_pgid, root.sequence,
                             2, next_pgid[0], txid + pgid)
            page[PAGE_HEADER.size:PAGE_HEADER.size + META.size] = body
            struct.pack_into("<Q", page, PAGE_HEADER.size + META.size, _fnv64a(body))
            handle.write(page)
        freelist = bytearray(page_size)
        PAGE_HEADER.pack_into(freelist, 0, 2, PAGE_FREELIST, 0, 0)
        handle.write(freelist)
        for blob in pages:
            handle.write(blob)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(path + ".tmp", path)


# --------------------------------------------------------------------------- seeding

def seed(source_root: str, target_root: str, image_ids: list[str]) -> dict:
    """Hardlink the layers of `image_ids` from one overlay2 data root into a fresh one.

    Copies image configs, the layer entries of those images only, a repositories index restricted
    to them, each layer directory's small files and short links; hardlinks the `diff` trees.
    Never touches container layers. Returns counts for the caller to report.
    """
    src_image = os.path.join(source_root, "image", "overlay2")
    dst_image = os.path.join(target_root, "image", "overlay2")
    if os.path.exists(os.path.join(target_root, "image")) or os.path.exists(
            os.path.join(target_root, "overlay2")):
        raise InitError(f"seed target {target_root} is not empty", EXIT_SEED)
    for required in ("imagedb/content/sha256", "layerdb/sha256", "repositories.json"):
        if not os.path.exists(os.path.join(src_image, required)):
            raise InitError(f"source data root has no overlay2 {required}", EXIT_SEED)
    stats = {"images": 0, "layers": 0, "linked_bytes": 0}
    chain_ids: set[str] = set()
    diff_trees: list[tuple[str, str]] = []
    for image_id in image_ids:
        digest = _digest_parts(image_id.encode())[1]
        config_path = os.path.join(src_image, "imagedb/content/sha256", digest)
        with open(config_path, "rb") as handle:
            config = json.loads(handle.read(SMALL_FILE_LIMIT))
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") if isinstance(config, dict) \
            else None
        if not isinstance(diff_ids, list):
            raise InitError(f"image {digest[:12]} has no list of layers", EXIT_SEED)
        chain = None
        for diff_id in diff_ids:
            _digest_parts(str(diff_id).encode())
            chain = diff_id if chain is None else "sha256:" + hashlib.sha256(
                f"{chain} {diff_id}".encode()).hexdigest()
            chain_ids.add(chain.split(":", 1)[1])
        for sub in ("content", "metadata"):
            src = os.path.join(src_image, "imagedb", sub, "sha256", digest)
            if os.path.exists(src):
                dst = os.path.join(dst_image, "imagedb", sub, "sha256", digest)
                copy_tree(src, dst, stats, link=False)
        stats["images"] += 1
    for chain in sorted(chain_ids):
        src_layer = os.path.join(src_image, "layerdb/sha256", chain)
        copy_tree(src_layer, os.path.join(dst_image, "layerdb/sha256", chain), stats, link=False)
        with open(os.path.join(src_layer, "cache-id")) as handle:
            cache_id = handle.read(200).strip()
        if not re.fullmatch(r"[0-9a-f]{64}", cache_id):
            raise InitError(f"layer {chain[:12]} has no valid cache-id", EXIT_SEED)
        src_dir = os.path.join(source_root, "overlay2", cache_id)
        dst_dir = os.path.join(target_root, "overlay2", cache_id)
        os.makedirs(dst_dir)
        for entry in os.listdir(src_dir):
            src = os.path.join(src_dir, entry)
            if entry == "diff":
                diff_trees.append((src, os.path.join(dst_dir, entry)))
            elif entry in ("link", "lower", "committed"):
                copy_file(src, os.path.join(dst_dir, entry))
            elif entry == "work":
                os.makedirs(os.path.join(dst_dir, entry))
        with open(os.path.join(src_dir, "link")) as handle:
            short = handle.read(200).strip()
        if not re.fullmatch(r"[A-Z0-9]{26}", short):
            raise InitError(f"layer {cache_id[:12]} has no valid short link", EXIT_SEED)
        links = os.path.join(target_root, "overlay2", "l")
        os.makedirs(links, exist_ok=True)
        os.symlink(f"../{cache_id}/diff", os.path.join(links, short))
        with open(os.path.join(src_layer, "size")) as handle:
            stats["linked_bytes"] += int(handle.read(40).strip() or 0)
        stats["layers"] += 1
    link_trees(diff_trees, stats)
    with open(os.path.join(src_image, "repositories.json")) as handle:
        repositories = json.loads(handle.read(SMALL_FILE_LIMIT)).get("Repositories", {})
    wanted = set(image_ids)
    kept = {}
    for repo, refs in repositories.items():
        refs = {ref: img for ref, img in refs.items() if img in wanted}
        if refs:
            kept[repo] = refs
    with open(os.path.join(dst_image, "repositories.json"), "w") as handle:
        json.dump({"Repositories": kept}, handle)
    return stats


CONTAINERD_ROOT = "containerd/daemon"            # under a level's data root (the init's --root)
CONTENT = "io.containerd.content.v1.content"
METADATA_DB = "io.containerd.metadata.v1.bolt/meta.db"
SNAPSHOTTER = "io.containerd.snapshotter.v1.overlayfs"
NAMESPACE = "moby"                                # dockerd's containerd namespace
KIND_COMMITTED = 3
GC_CONTENT, GC_SNAPSHOT, GC_IMAGE = (b"containerd.io/gc.ref.content",
                                     b"containerd.io/gc.ref.snapshot.overlayfs",
                                     b"containerd.io/gc.ref.image")


DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}


def _digest_parts(digest: bytes) -> tuple[str, str]:
    """("sha256", hex) of a content digest read from a database; an InitError for anything
    else (a key written to make a path such as ../../x)."""
    algorithm, _, hexdigest = digest.decode("ascii", errors="replace").partition(":")
    if len(hexdigest) != DIGEST_HEX.get(algorithm, -1) or \
            hexdigest.strip("0123456789abcdef"):
        raise InitError(f"not a content digest: {digest[:80]!r}", EXIT_SEED)
    return algorithm, hexdigest


def _uvarint(data: bytes, at: int = 0) -> tuple[int, int]:
    value = shift = 0
    while True:
        if shift > 63:
            raise InitError("a varint longer than 64 bits", EXIT_SEED)
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def _varint(data: bytes | None) -> int:
    if not data:
        return 0
    value = _uvarint(data)[0]
    return (value >> 1) ^ -(value & 1)       # Go's binary.Varint: zigzag


def _labels(bucket: Bucket) -> dict[bytes, bytes]:
    labels = bucket.bucket("labels")
    return {k: v for k, v in labels.items.items() if isinstance(v, bytes)} if labels else {}


def containerd_closure(namespace: Bucket, backend: Bucket, image_ids: list[str]) -> dict:
    """What the images `image_ids` (docker's ids on this store: their target's digest) hold:
    their image records, every content blob they reference, and every snapshot, following
    containerd's own garbage-collection references (gc.ref labels, snapshot parents). Only
    committed snapshots are taken: active and view ones are containers' writable layers."""
    images = namespace.bucket("images") or Bucket()
    blobs = namespace.bucket("content", "blob") or Bucket()
    metasnaps = namespace.bucket("snapshots", "overlayfs") or Bucket()
    committed = backend.bucket("v1", "snapshots") or Bucket()
    wanted = set(image_ids)
    kept: dict[str, dict[bytes, Bucket]] = {"images": {}, "blobs": {}, "snapshots": {}}
    todo: list[tuple[str, bytes]] = [
        ("image", name) for name, record in images.items.items()
        if isinstance(record, Bucket) and (record.bucket("target") or Bucket()).value("digest")
        in {i.encode() for i in wanted}]

    def follow(labels: dict[bytes, bytes]) -> None:
        for key, value in labels.items():
            if key.startswith(GC_SNAPSHOT):
                todo.append(("snapshot", value))
            elif key.startswith(GC_CONTENT):
                todo.append(("blob", value))
            elif key.startswith(GC_IMAGE):
                todo.append(("image", value))

    while todo:
        kind, key = todo.pop()
        if key in kept[kind + "s"]:
            continue
        if kind == "image":
            record = images.items.get(key)
            if isinstance(record, Bucket):
                kept["images"][key] = record
                todo.append(("blob", (record.bucket("target") or Bucket()).value("digest") or b""))
                follow(_labels(record))
        elif kind == "blob":
            record = blobs.items.get(key)
            if isinstance(record, Bucket):
                kept["blobs"][key] = record
                follow(_labels(record))
        else:
            snapshot = metasnaps.items.get(key)
            if not isinstance(snapshot, Bucket):
                continue
            name = snapshot.value("name")
            found = committed.items.get(name) if name else None
            if isinstance(found, Bucket) and found.value("kind") == bytes([KIND_COMMITTED]):
                kept["snapshots"][key] = snapshot
                if parent := snapshot.value("parent"):
                    todo.append(("snapshot", parent))
                follow(_labels(snapshot))
    return kept


def _copy_dirs(source: str, target: str, relative: str) -> None:
    """Make `relative` and its parents under `target` with the source's modes and owners."""
    path = ""
    for part in relative.split("/"):
        path = os.path.join(path, part)
        src, dst = os.path.join(source, path), os.path.join(target, path)
        if not os.path.exists(dst):
            st = os.lstat(src)
            os.mkdir(dst, stat_mod.S_IMODE(st.st_mode))
            os.lchown(dst, st.st_uid, st.st_gid)
            os.chmod(dst, stat_mod.S_IMODE(st.st_mode))


def seed_containerd(source_root: str, target_root: str, image_ids: list[str]) -> dict:
    """Seed a fresh data root's containerd image store from a parent's: new bolt databases
    holding only the images' records (no container, lease or ingest records, and only committed
    snapshots), the content blobs hardlinked, the snapshots' trees hardlinked."""
    source = os.path.join(source_root, CONTAINERD_ROOT)
    target = os.path.join(target_root, CONTAINERD_ROOT)
    if os.path.exists(os.path.join(target_root, "containerd")) or os.path.exists(
            os.path.join(target_root, "image")):
        raise InitError(f"seed target {target_root} is not empty", EXIT_SEED)
    for required in (METADATA_DB, SNAPSHOTTER + "/metadata.db", CONTENT + "/blobs/sha256"):
        if not os.path.exists(os.path.join(source, required)):
            raise InitError(f"source data root has no containerd {required}", EXIT_SEED)
    meta, meta_page, meta_txid = bolt_read(os.path.join(source, METADATA_DB))
    backend, backend_page, backend_txid = bolt_read(
        os.path.join(source, SNAPSHOTTER, "metadata.db"))
    v1 = meta.bucket("v1")
    namespace = meta.bucket("v1", NAMESPACE)
    if v1 is None or namespace is None:
        raise InitError("the source's containerd holds no images (no moby namespace)", EXIT_SEED)
    kept = containerd_closure(namespace, backend, image_ids)
    missing = set(image_ids) - {
        ((r.bucket("target") or Bucket()).value("digest") or b"").decode()
        for r in kept["images"].values()}
    if missing:
        raise InitError(f"images not in the source's containerd store: {sorted(missing)}",
                        EXIT_SEED)

    def copy_of(bucket: Bucket | None, items: dict | None = None) -> Bucket:
        return Bucket(bucket.sequence if bucket else 0, items if items is not None else {})

    snaps = namespace.bucket("snapshots", "overlayfs")
    snapshots = {}
    for key, record in kept["snapshots"].items():
        children = record.bucket("children")
        items = dict(record.items)
        if children is not None:
            items[b"children"] = copy_of(children, {k: v for k, v in children.items.items()
                                                    if k in kept["snapshots"]})
        snapshots[key] = Bucket(record.sequence, items)
    content = namespace.bucket("content")
    new_namespace = copy_of(namespace, {
        b"images": copy_of(namespace.bucket("images"), kept["images"]),
        b"content": copy_of(content, {
            b"blob": copy_of(namespace.bucket("content", "blob"), kept["blobs"]),
            b"ingests": Bucket()}),
        b"snapshots": copy_of(namespace.bucket("snapshots"),
                              {b"overlayfs": copy_of(snaps, snapshots)}),
        b"leases": Bucket(), b"containers": Bucket()})
    if namespace.bucket("labels") is not None:
        new_namespace.items[b"labels"] = namespace.items[b"labels"]
    new_v1 = copy_of(v1, {k: v for k, v in v1.items.items() if isinstance(v, bytes)})
    new_v1.items[NAMESPACE.encode()] = new_namespace
    new_meta = copy_of(meta, {b"v1": new_v1})

    names = {record.value("name") for record in kept["snapshots"].values()}
    bv1 = backend.bucket("v1") or Bucket()
    bsnaps = backend.bucket("v1", "snapshots") or Bucket()
    bparents = backend.bucket("v1", "parents") or Bucket()
    chosen = {name: record for name in names
              if name is not None and isinstance(record := bsnaps.items.get(name), Bucket)}
    ids = {_uvarint(record.value("id") or b"\0")[0] for record in chosen.values()}

    def both_kept(key: bytes) -> bool:
        parent, at = _uvarint(key)
        return parent in ids and _uvarint(key, at + 1)[0] in ids

    new_backend = copy_of(backend, {b"v1": copy_of(bv1, {
        k: v for k, v in bv1.items.items() if isinstance(v, bytes)} | {
        b"snapshots": copy_of(bsnaps, chosen),
        b"parents": copy_of(bparents, {k: v for k, v in bparents.items.items()
                                       if both_kept(k)})})})

    stats: dict = {"images": len(kept["images"]), "layers": len(chosen), "blobs": 0,
                   "linked_bytes": 0, "store": "containerd"}
    _copy_dirs(source_root, target_root, CONTAINERD_ROOT)
    for relative in (os.path.dirname(METADATA_DB), SNAPSHOTTER + "/snapshots",
                     CONTENT + "/blobs/sha256", CONTENT + "/ingest"):
        if os.path.exists(os.path.join(source, relative)):
            _copy_dirs(source, target, relative)
    for relative, tree, page, txid in ((METADATA_DB, new_meta, meta_page, meta_txid),
                                       (SNAPSHOTTER + "/metadata.db", new_backend, backend_page,
                                        backend_txid)):
        bolt_write(os.path.join(target, relative), tree, page, txid)
        st = os.stat(os.path.join(source, relative))
        os.chmod(os.path.join(target, relative), stat_mod.S_IMODE(st.st_mode))
    # containerd may start now: it reads blobs and snapshot trees only when asked for them,
    # and dockerd (which asks) waits for the seed's final marker.
    write_marker(target_root, "ok", SEED_DB_MARKER)
    for digest in sorted(kept["blobs"]):
        algorithm, hexdigest = _digest_parts(digest)  # a key names a path: checked first
        src = os.path.join(source, CONTENT, "blobs", algorithm, hexdigest)
        if os.path.exists(src):
            os.link(src, os.path.join(target, CONTENT, "blobs", algorithm, hexdigest))
            stats["blobs"] += 1
            stats["linked_bytes"] += _varint(kept["blobs"][digest].value("size"))
    trees = []
    for record in chosen.values():
        number = str(_uvarint(record.value("id") or b"\0")[0])
        trees.append((os.path.join(source, SNAPSHOTTER, "snapshots", number),
                      os.path.join(target, SNAPSHOTTER, "snapshots", number)))
        stats["linked_bytes"] += _varint(record.value("size"))
    link_trees(trees, stats)
    return stats


def link_trees(pairs: list[tuple[str, str]], stats: dict) -> None:
    """Hardlink each layer's content tree: GNU `cp -a --link` (owners, modes, times, xattrs such
    as overlay's opaque marks, and whiteout devices), every layer at once; Python if no cp."""
    if not os.access("/bin/cp", os.X_OK):
        for src, dst in pairs:
            copy_tree(src, dst, stats, link=True)
        return
    running = [(subprocess.Popen(["/bin/cp", "-a", "--link", src, dst], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True), src) for src, dst in pairs]
    failures = []
    for process, src in running:
        output = process.communicate()[0]
        if process.returncode != 0:
            failures.append(f"{src}: {output.strip()[-200:]}")
    if failures:
        raise OSError("linking layers failed: " + "; ".join(failures))


def copy_file(src: str, dst: str) -> None:
    """shutil is not in python3-minimal: a plain byte copy (modes and owners are set by callers)."""
    with open(src, "rb") as source, open(dst, "wb") as target:
        while chunk := source.read(1 << 20):
            target.write(chunk)


def copy_tree(src: str, dst: str, stats: dict, link: bool) -> None:
    """Copy (or hardlink) a tree, keeping owners, modes, times, xattrs and special files."""
    st = os.lstat(src)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    copy_node(src, dst, st, stats, link)
    if not os.path.isdir(src) or os.path.islink(src):
        return
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target_dir = os.path.normpath(os.path.join(dst, rel))
        for name in dirs + files:
            path = os.path.join(root, name)
            copy_node(path, os.path.join(target_dir, name), os.lstat(path), stats, link)
    # Directory times last: creating entries changed them.
    for root, dirs, _ in os.walk(src):
        for name in [""] + dirs:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if not os.path.islink(path):
                target = os.path.normpath(os.path.join(dst, os.path.relpath(path, src)))
                os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def copy_node(src: str, dst: str, st: os.stat_result, stats: dict, link: bool) -> None:
    mode = st.st_mode
    if stat_mod.S_ISDIR(mode):
        os.mkdir(dst, stat_mod.S_IMODE(mode))
    elif stat_mod.S_ISLNK(mode):
        os.symlink(os.readlink(src), dst)
    elif stat_mod.S_ISREG(mode) and link:
        os.link(src, dst)
        return  # a hardlink shares owner, mode and xattrs with its source
    elif stat_mod.S_ISREG(mode):
        copy_file(src, dst)
    else:  # devices, fifos and overlay whiteouts (0:0 char devices)
        os.mknod(dst, mode, st.st_rdev)
    os.lchown(dst, st.st_uid, st.st_gid)
    if not stat_mod.S_ISLNK(mode):
        os.chmod(dst, stat_mod.S_IMODE(mode))
    try:
        for name in os.listxattr(src, follow_symlinks=False):
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False),
                        follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EPERM):
            raise
    if not stat_mod.S_ISDIR(mode):
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def write_marker(target: str, outcome: str, name: str = SEED_MARKER) -> None:
    """Tell a level waiting on this data root (DINDTUI_AWAIT_SEED) how the seed ended."""
    try:
        with open(os.path.join(target, name + ".tmp"), "w") as handle:
            handle.write(outcome + "\n")
        os.replace(os.path.join(target, name + ".tmp"), os.path.join(target, name))
    except OSError:
        pass


# --------------------------------------------------------------------------- disk usage

def measure_volumes(volumes: list[dict], on_volume=None) -> tuple[dict, int]:
    """Disk usage of level volumes by inode, so that a layer hardlinked into several levels
    counts once. `volumes`: [{"volume", "path", "depth", "nested": [names of the volumes that
    live inside it]}]. Returns ({volume: {"bytes", "shared_bytes", "freeable"}}, total bytes):
    a file's bytes are counted in the shallowest volume that links it, and only when every
    link to it lies inside the volumes (one also linked from the engine's own image store
    costs nothing); "freeable" counts the files whose every link is inside the volume and
    what nests in it. Used by the engine on this machine, and by `dindtui-init du` in a
    helper container on a remote engine's."""
    by_path = {item["path"]: item for item in volumes}
    inodes: dict = {}     # (dev, ino) -> (bytes, links it has)
    links_in: dict = {}   # volume -> (dev, ino) -> links inside it
    ordered = sorted(volumes, key=lambda item: (item["depth"], item["volume"]))
    for index, item in enumerate(ordered):
        if on_volume is not None:
            on_volume(index, len(ordered), item)
        links_in[item["volume"]] = _count_links(item["path"], by_path, inodes)
    in_tree: dict = {}
    for counts in links_in.values():
        for key, count in counts.items():
            in_tree[key] = in_tree.get(key, 0) + count
    results = {item["volume"]: {"bytes": 0, "shared_bytes": 0, "freeable": 0}
               for item in volumes}
    counted: set = set()
    for item in ordered:
        result = results[item["volume"]]
        for key in links_in[item["volume"]]:
            size, links = inodes[key]
            if links > 1:
                result["shared_bytes"] += size
            if key not in counted and in_tree[key] >= links:
                counted.add(key)
                result["bytes"] += size
    for item in volumes:
        union: dict = {}
        for name in [item["volume"]] + list(item.get("nested") or []):
            for key, count in links_in.get(name, {}).items():
                union[key] = union.get(key, 0) + count
        results[item["volume"]]["freeable"] = sum(inodes[key][0] for key, count in union.items()
                                                  if count >= inodes[key][1])
    return results, sum(inodes[key][0] for key in counted)


def _count_links(top: str, skip: dict, inodes: dict) -> dict:
    """The links to each inode under `top`, not descending into other volumes (`skip`)."""
    counts: dict = {}
    stack = [top]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir:
                if entry.path in skip:
                    continue  # another level's volume: measured on its own
                stack.append(entry.path)
            key = (st.st_dev, st.st_ino)
            counts[key] = counts.get(key, 0) + 1
            if key not in inodes:
                inodes[key] = (st.st_blocks * 512, 1 if is_dir else st.st_nlink)
    return counts


def du_main(argv: list[str]) -> int:
    """`dindtui-init du JSON`: measure_volumes of the volumes the JSON lists; prints one JSON
    line ({"volumes": {...}, "total": N})."""
    try:
        volumes = json.loads(argv[0]) if len(argv) == 1 else None
    except ValueError:
        volumes = None
    if not isinstance(volumes, list):
        raise InitError("usage: dindtui-init du '[{\"volume\": ..., \"path\": ..., \"depth\": "
                        "..., \"nested\": [...]}, ...]'", EXIT_BAD_INPUT)
    results, total = measure_volumes(volumes)
    print(json.dumps({"volumes": results, "total": total}), flush=True)
    return 0


SEED_SECONDS = 120       # a seed that takes longer fails (and the spawn streams instead)
SMALL_FILE_LIMIT = 16 << 20  # bytes of an image config or repositories.json read at the most


def seed_main(argv: list[str]) -> int:
    """`dindtui-init seed [--store=S] SOURCE_ROOT TARGET_ROOT IMAGE_ID...`: prints one JSON line
    of counts."""
    store = "overlay2"
    if argv[:1] and argv[0].startswith("--store="):
        store, argv = argv[0].split("=", 1)[1], argv[1:]
    if store not in STORES or len(argv) < 3:
        raise InitError("usage: dindtui-init seed [--store=overlay2|containerd] SOURCE_ROOT "
                        "TARGET_ROOT IMAGE_ID...", EXIT_BAD_INPUT)
    source, target, images = argv[0], argv[1], argv[2:]
    started = time.monotonic()

    def too_long(_signo, _frame):
        raise InitError(f"seeding took longer than {SEED_SECONDS}s", EXIT_SEED)

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(SEED_SECONDS)
    try:
        stats = (seed_containerd if store == "containerd" else seed)(source, target, images)
    except Exception as exc:  # noqa: BLE001 - whatever the source holds: a marker, one line
        error = exc if isinstance(exc, InitError) else InitError(
            f"seeding failed: {type(exc).__name__}: {str(exc)[:300]}", EXIT_SEED)
        write_marker(target, f"failed: {error}")
        raise error from None
    finally:
        signal.alarm(0)
    write_marker(target, "ok")
    stats["seconds"] = round(time.monotonic() - started, 3)
    print(json.dumps(stats), flush=True)
    return 0


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["seed"]:
            return seed_main(argv[1:])
        if argv[:1] == ["du"]:
            return du_main(argv[1:])
        return init(argv)
    except InitError as exc:
        log(f"error: {exc}")
        return exc.status
    except Stopping as stopping:
        log(f"stopped by signal {stopping.signo} before the daemon was ready")
        return 128 + stopping.signo
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
