"""Preparing the container before the daemons: inherited fds, input checks, privileges, mounts,
cgroups (v1, v2), iptables, the MTU, TLS certificates, dockerd's configuration and arguments."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import time

from .common import (
    CAP_SYS_ADMIN,
    CGROUP_ROOT,
    EXIT_BAD_INPUT,
    EXIT_CGROUP,
    EXIT_PRIVILEGE,
    SOCKET_TREE_DIR,
    STORES,
    InitError,
    copy_file,
    log,
    run,
    shutdown_timeout,
)

TYPE_CHECKING = False  # typing is for mypy: not imported when every level's init starts
if TYPE_CHECKING:
    from typing import Any


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
    if mounted:  # one umount for them all, deepest first (an exec each was ~2 ms of a start)
        run("umount", "-l", *sorted(set(mounted), key=len, reverse=True), check=False)


def mount_all(mounts: list[tuple[str, str, str, str]]) -> dict[str, str]:
    """(fstype, source, target, options) mounted by one `mount -a` over a table of them (one
    exec, not one each); {target: why} for those that did not mount, each tried again alone
    for its own error."""
    if not mounts:
        return {}
    table = "/run/dindtui-mounts.fstab"
    with open(table, "w") as handle:
        for fstype, source, target, options in mounts:
            handle.write(f"{source} {target} {fstype} {options} 0 0\n")
    known = len(mountinfo())
    try:
        run("mount", "-a", "-T", table, check=False)
    finally:
        os.remove(table)
    mounted = {point for point, _ in mountinfo()[known:]}  # what this mount added
    failed = {}
    for fstype, source, target, options in mounts:
        if target not in mounted:
            try:
                mount(fstype, source, target, options)
            except OSError as exc:
                failed[target] = str(exc)
    return failed


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
    wanted = []
    for group in v1_hierarchies():
        is_named = group[0].startswith("name=")
        dirname = group[0][len("name="):] if is_named else ",".join(group)
        target = os.path.join(CGROUP_ROOT, dirname)
        os.makedirs(target, exist_ok=True)
        options = "none," + group[0] if is_named else ",".join(group)
        wanted.append((group, is_named, dirname, target, options))
    failed = mount_all([("cgroup", "cgroup", target, options)
                        for _, _, _, target, options in wanted])
    for group, is_named, dirname, target, _ in wanted:
        if target in failed:
            os.rmdir(target)
            log(f"warning: cgroup hierarchy {dirname} not mounted ({failed[target]})")
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


def remove_stale_pid_files() -> None:
    for path in ("/var/run/docker.pid", "/run/docker/containerd/containerd.pid",
                 "/var/run/docker/containerd/containerd.pid", "/run/containerd/containerd.pid"):
        try:
            os.remove(path)
        except OSError:
            pass


DAEMON_JSON = "/etc/docker/daemon.json"


def image_store() -> str | None:
    """DINDTUI_STORE: the image store of this level's daemon (unset: Docker's own default)."""
    store = os.environ.get("DINDTUI_STORE", "").strip()
    if store and store not in STORES:
        raise InitError(f"DINDTUI_STORE must be overlay2 or containerd, got {store!r}",
                        EXIT_BAD_INPUT)
    return store or None


SWARM_STATE = "/var/lib/docker/swarm/docker-state.json"  # a node's; gone after `swarm leave`


def swarm_member(state: str = SWARM_STATE) -> bool:
    return os.path.exists(state)


def live_restore_wanted() -> bool:
    """DINDTUI_LIVE_RESTORE: off for a level spawned as a swarm node; on (the default) else."""
    value = os.environ.get("DINDTUI_LIVE_RESTORE", "on").strip() or "on"
    if value not in ("on", "off"):
        raise InitError(f"DINDTUI_LIVE_RESTORE must be on or off, got {value!r}", EXIT_BAD_INPUT)
    return value == "on"


def read_daemon_config(path: str = DAEMON_JSON) -> dict[str, Any]:
    try:
        with open(path) as f:
            config = json.load(f)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise InitError(f"{path} is not JSON ({exc}): cannot configure dockerd",
                        EXIT_BAD_INPUT) from None
    if not isinstance(config, dict):
        raise InitError(f"{path} holds no JSON object: cannot configure dockerd", EXIT_BAD_INPUT)
    return config


def write_daemon_config(config: dict[str, Any], path: str = DAEMON_JSON) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(config, f)
    os.replace(path + ".tmp", path)


def write_store_config(store: str | None, live_restore: bool, path: str = DAEMON_JSON) -> None:
    """The settings the init owns in daemon.json; other settings in the file are kept. Docker 26
    turns the containerd image store on there (`--feature` does not exist in 26). live-restore
    is there rather than on dockerd's command line so that the daemon's own reload (SIGHUP) can
    turn it off when the level joins a swarm, which refuses it (`dindtui-init live-restore`)."""
    config = read_daemon_config(path)
    if store is not None:
        config.setdefault("features", {})["containerd-snapshotter"] = store == "containerd"
    config["live-restore"] = live_restore
    write_daemon_config(config, path)


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
    # live-restore (containerd keeps the containers running while dockerd restarts after a
    # crash; the init stops them itself on a real shutdown) is set in daemon.json.
    argv.append(f"--shutdown-timeout={shutdown_timeout():g}")
    argv += os.environ.get("DOCKERD_ARGS", "").split()
    return argv
