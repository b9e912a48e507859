"""The init itself: shell mode and daemon mode."""

from __future__ import annotations

import os
import signal

from .common import (
    EXIT_BAD_INPUT,
    DOZE_SIGNAL,
    SI_KERNEL,
    STOP_SIGNALS,
    WAKE_SIGNAL,
    InitError,
    env_seconds,
    log,
    shutdown_timeout,
)
from .daemons import Daemons
from .setup import (
    check_privileges,
    choose_iptables,
    close_inherited_fds,
    dockerd_argv,
    ensure_certs,
    image_store,
    live_restore_wanted,
    mount_securityfs,
    outer_mtu,
    parse_port,
    remount_sys_rw,
    setup_cgroups,
    swarm_member,
    write_store_config,
)
from .supervise import Stopping, Supervisor, spawn


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
        if info.si_signo == DOZE_SIGNAL:
            daemons.doze()
            continue
        if info.si_signo == WAKE_SIGNAL:
            daemons.wake()
            continue
        if daemons.dockerd is not None and sup.alive(daemons.dockerd):
            os.kill(daemons.dockerd, info.si_signo)  # SIGHUP reloads dockerd's configuration


def _stop_now(signo: int, _frame: object) -> None:
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
    # A swarm node runs without live-restore (swarm mode refuses it); any other level with.
    write_store_config(store, live_restore=live_restore_wanted() and not swarm_member())
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
