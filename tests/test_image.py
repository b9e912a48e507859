"""The image and its init, used by hand as in the original recipe: `docker run $(dindtui flags)`."""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time

import docker
import pytest
import requests

from helpers import COMPOSE_PROJECT, run_cli
from conftest import MAKE_TINY, wait_for_log
from dindtui.engine.net import connect
from dindtui.engine.lifecycle import images


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def finish(container, timeout: float = 120) -> tuple[int, str]:
    status = container.wait(timeout=timeout)["StatusCode"]
    return status, container.logs().decode(errors="replace")


def test_flags_give_a_working_docker_run(image, client):
    result = run_cli("flags")
    assert result.returncode == 0, result.stderr
    flags = result.stdout.split()
    assert flags == ["--privileged"] or "--cap-add=ALL" in flags
    # Every flag is one word: `docker run $(dindtui flags)` survives word splitting.
    assert all(" " not in flag for flag in flags)


def test_image_build_is_idempotent_and_labelled(image, client):
    result = run_cli("image", "build", "--json")
    assert result.returncode == 0, result.stderr
    assert '"built": false' in result.stdout
    base, _ = images.ensure_base(client, None, lambda report: None)
    wanted = images.flavour_inputs(images.build_inputs(), base.id, images.flavour(None))
    assert client.images.get(image).labels["dindtui.inputs"] == wanted


@pytest.mark.engine_free
def test_slimming_a_root_filesystem_empties_what_levels_never_read(tmp_path):
    for path in ("usr/share/doc/bash/copyright", "usr/share/man/man1/ls.1.gz",
                 "usr/share/locale/de/LC_MESSAGES/dpkg.mo", "usr/share/info/dir",
                 "usr/share/zoneinfo/UTC", "usr/bin/ls"):
        os.makedirs(tmp_path / os.path.dirname(path), exist_ok=True)
        (tmp_path / path).write_text("x")
    os.symlink("/etc/passwd", tmp_path / "usr/share/doc/link")
    images.slim(str(tmp_path))
    for relative in ("usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info"):
        assert os.listdir(tmp_path / relative) == [], relative  # emptied, the directory kept
    assert (tmp_path / "usr/share/zoneinfo/UTC").exists() and (tmp_path / "usr/bin/ls").exists()
    assert os.path.exists("/etc/passwd")  # a link is removed, not followed
    excluded = (tmp_path / images.SLIM_DPKG).read_text()
    assert "path-exclude=/usr/share/man/*" in excluded
    assert "path-exclude=/usr/share/doc/*" in excluded


def test_a_bootstrapped_base_seeds_no_documentation_into_new_levels(image, client):
    """Every file of the level image's layers is hardlinked into each new level: a bootstrapped
    base leaves documentation, manuals and translations out, as Debian's slim images do."""
    base, _ = images.ensure_base(client, None, lambda report: None)
    if not any(tag.startswith("dindtui-base:") for tag in base.tags):
        pytest.skip(f"the base {base.tags} was pulled, not bootstrapped by dindtui")
    data = client.images.get(image).attrs["GraphDriver"]["Data"] or {}
    layers = [d for d in (data.get("LowerDir", "").split(":") + [data.get("UpperDir", "")]) if d]
    if not layers or not all(os.path.isdir(layer) for layer in layers):
        pytest.skip("the image's layers are not readable here (a remote or rootless engine)")
    found = []
    for layer in layers:
        for relative in images.SLIM_PATHS:
            top = os.path.join(layer, relative)
            if os.path.isdir(top) and not os.path.islink(top):
                found += [os.path.join(relative, name) for name in os.listdir(top)]
    assert found == [], f"{len(found)} entries, e.g. {found[:5]}"


def test_shell_mode_runs_the_command_with_a_daemon_and_returns_its_status(containers):
    container = containers(["sh", "-c", "docker version --format '{{.Server.Version}}'; exit 7"])
    status, logs = finish(container)
    assert status == 7
    assert "26." in logs  # the server answered from inside the container


def test_shell_mode_nested_docker_run_cgroup_v1(containers):
    # Every controller the kernel has enabled is mounted (the init mounts them all at once).
    every = ("for c in $(awk '!/^#/ && $4 == 1 {print $1}' /proc/cgroups); do "
             "test -e /sys/fs/cgroup/$c/cgroup.procs && echo mounted-$c || echo missing-$c; done")
    container = containers(["sh", "-c", MAKE_TINY + "docker info --format 'cg={{.CgroupVersion}}'"
                            "; docker run --rm tiny /bin/echo nested-ok; " + every],
                           environment={"DINDTUI_CGROUP": "v1"})
    status, logs = finish(container)
    assert status == 0, logs
    assert "cg=1" in logs and "nested-ok" in logs
    assert "mounted-memory" in logs and "mounted-pids" in logs, logs
    assert "missing-" not in logs and "not mounted" not in logs, logs


def test_shell_mode_nested_docker_run_forced_cgroup_v2(containers):
    container = containers(["sh", "-c", MAKE_TINY + "docker info --format 'cg={{.CgroupVersion}}'"
                            "; docker run --rm tiny /bin/echo nested-ok; "
                            "cat /proc/1/cgroup"],
                           environment={"DINDTUI_CGROUP": "v2"})
    status, logs = finish(container)
    assert status == 0, logs
    assert "cg=2" in logs and "nested-ok" in logs
    assert "0::/init" in logs  # PID 1 was moved out of the root cgroup


def test_inherited_file_descriptors_are_closed(containers):
    # The shell opens fds 7 and 8 and execs the init with them: the leak the recipe fixes.
    script = ("exec 7</etc/hostname 8</etc/hosts; echo before:; ls -l /proc/$$/fd; "
              "exec /usr/local/bin/dindtui-init sh -c "
              "'echo init:; ls -l /proc/1/fd; echo dockerd:; "
              "ls -l /proc/$(cat /var/run/docker.pid)/fd'")
    container = containers(["-c", script], entrypoint=["sh"])
    status, logs = finish(container)
    assert status == 0, logs
    before, after = logs.split("init:", 1)
    assert "/etc/hostname" in before and "/etc/hosts" in before  # the leak was real
    assert "/etc/hostname" not in after and "/etc/hosts" not in after
    assert "dockerd:" in after


def test_zombies_are_reaped(containers):
    count_zombies = ("python3 -c \"import glob; print('zombies=%d' % sum(open(p).read()"
                     ".rsplit(')', 1)[1].split()[0] == 'Z' "
                     "for p in glob.glob('/proc/[0-9]*/stat')))\"")
    # Each (sleep &) leaves an orphan that only PID 1 can reap.
    script = f"for i in $(seq 60); do (sleep 0.01 &); done; sleep 2; {count_zombies}"
    container = containers(["sh", "-c", script])
    status, logs = finish(container)
    assert status == 0, logs
    assert "zombies=0" in logs


def test_sigterm_stops_the_daemon_gracefully_and_quickly(containers, client):
    container = containers(environment={"DINDTUI_MODE": "daemon"})
    wait_for_log(container, "dockerd ready")
    started = time.monotonic()
    container.stop(timeout=30)
    elapsed = time.monotonic() - started
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0
    assert elapsed < 10  # within docker stop's default grace period
    assert "Daemon shutdown complete" in container.logs().decode(errors="replace")


def test_sigterm_in_shell_mode_ends_the_command(containers):
    container = containers(["sleep", "1000"])
    wait_for_log(container, "dockerd ready")
    container.stop(timeout=30)
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 143  # the command's own status: SIGTERM


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-1"])
def test_bad_port_is_one_clear_line_and_status_2(containers, port):
    status, logs = finish(containers(environment={"PORT": port}))
    assert status == 2
    assert "PORT must be a TCP port number" in logs
    assert "Traceback" not in logs


def test_a_bad_image_store_is_one_clear_line_and_status_2(containers):
    status, logs = finish(containers(environment={"DINDTUI_STORE": "zfs"}))
    assert status == 2
    assert "DINDTUI_STORE must be overlay2 or containerd, got 'zfs'" in logs
    assert "Traceback" not in logs


def test_without_privileges_the_init_says_so(containers):
    status, logs = finish(containers(["true"], privileged=False))
    assert status == 3
    assert "not enough privilege" in logs and "dindtui flags" in logs
    assert "Traceback" not in logs


def client_certs(container, into) -> dict:
    stream, _ = container.get_archive("/certs/client")
    base = os.path.join(into, "client")
    os.makedirs(base, exist_ok=True)
    # The regular files only, by their base name (tarfile's extraction filters need 3.11.4;
    # a fresh Debian 12 has 3.11.2).
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        for member in archive.getmembers():
            content = archive.extractfile(member) if member.isfile() else None
            if content is not None:
                with open(os.path.join(base, os.path.basename(member.name)), "wb") as f:
                    f.write(content.read())
    return {name: os.path.join(base, f"{name}.pem") for name in ("ca", "cert", "key")}


def test_daemon_mode_serves_tls_with_generated_certs(containers, tmp_path, monkeypatch):
    # requests lets these override a client's own CA (psf/requests#3829): keep ours.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    port = free_port()
    container = containers(environment={"PORT": "2376"}, ports={"2376/tcp": ("127.0.0.1", port)})
    wait_for_log(container, "dockerd ready on tcp port 2376 (TLS)")
    certs = client_certs(container, tmp_path)
    tls = docker.tls.TLSConfig(client_cert=(certs["cert"], certs["key"]), ca_cert=certs["ca"],
                               verify=True)
    remote = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", tls=tls, timeout=10)
    assert remote.containers.list() == []
    assert remote.version()["Version"].startswith("26.")
    # Without the client certificate the daemon refuses to talk.
    no_cert = docker.tls.TLSConfig(ca_cert=certs["ca"], verify=True)
    refused = (docker.errors.DockerException, requests.exceptions.RequestException)
    with pytest.raises(refused):
        docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", tls=no_cert, timeout=5).ping()
    with pytest.raises(refused):
        docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", timeout=5).ping()


def test_daemon_mode_plain_tcp_only_when_asked_and_with_a_warning(containers):
    port = free_port()
    container = containers(environment={"PORT": "2375", "DOCKER_TLS_CERTDIR": ""},
                           ports={"2375/tcp": ("127.0.0.1", port)})
    logs = wait_for_log(container, "dockerd ready on tcp port 2375 (plain)")
    assert any("warning:" in line and "WITHOUT TLS" in line for line in logs.splitlines()), logs
    remote = docker.DockerClient(base_url=f"tcp://127.0.0.1:{port}", timeout=10)
    assert remote.ping()


def test_nesting_by_hand_to_depth_three(image, client, tmp_path, containers):
    """The recipe alone, no engine: level 1 runs level 2 runs level 3 through the socket tree,
    the image moved down each time with save | load."""
    top = str(tmp_path / "tree")
    os.makedirs(top)
    containers(environment={"DINDTUI_MODE": "daemon"},
               binds={top: {"bind": "/run/dindtui", "mode": "rw"}})
    source = client
    for depth in (2, 3):
        parent = _connect(os.path.join(top, "docker.sock"))
        parent.api.load_image(source.api.get_image(image))
        parent.containers.run(image, detach=True, privileged=True,
                              environment={"DINDTUI_MODE": "daemon"},
                              volumes={f"/run/dindtui/c/l{depth}": {"bind": "/run/dindtui"}})
        top, source = os.path.join(top, "c", f"l{depth}"), parent
    info = _connect(os.path.join(top, "docker.sock")).info()
    assert info["ServerVersion"].startswith("26.")
    assert info["Driver"] == "overlay2"


def _connect(path: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not connect.ping_socket(path).ok:
        assert time.monotonic() < deadline, f"no daemon answers at {path}"
        time.sleep(0.2)
    return docker.DockerClient(base_url="unix://" + path, timeout=300)


def test_interactive_shell_mode_on_a_terminal(image):
    """`docker run -it $(dindtui flags) dindtui`: a login shell with a working daemon; its exit
    status is the container's."""
    import pty
    import select
    import subprocess
    import sys
    flags = subprocess.run([sys.executable, "-m", "dindtui", "flags"], capture_output=True,
                           text=True, check=True).stdout.split()
    name = "dindtui-test-it"
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("docker", ["docker", "run", "--rm", "-it", "--name", name,
                             "--label", "dindtui.test=1", *flags, image])
    seen = b""
    try:
        deadline = time.monotonic() + 60
        # Type once the login shell prompts: a shell drops what was typed before it read.
        while not (b"dockerd ready" in seen and seen.rstrip().endswith(b"#")) and \
                time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                seen += os.read(fd, 4096)
        os.write(fd, b"echo shell-$0; docker info --format 'srv-{{.ServerVersion}}'\r")
        while b"srv-26" not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                seen += os.read(fd, 4096)
        assert b"shell-" in seen and b"srv-26" in seen, seen[-1500:]
        os.write(fd, b"exit 5\r")
        _, status = os.waitpid(pid, 0)
        pid = 0
        assert os.waitstatus_to_exitcode(status) == 5
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
        subprocess.run(["docker", "rm", "-fv", name], capture_output=True)




def test_compose_and_buildx_build_and_run_a_two_service_project_at_depth_2(tree):
    """What CI jobs run inside Docker-in-Docker: `docker compose` (with `docker buildx`)
    builds an image and brings up two services at depth 2, which reach each other by name."""
    chain = tree.chain(2)
    ran = run_cli("exec", chain[-1].level.path, "--", "sh", "-c", COMPOSE_PROJECT)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "hello from web" in ran.stdout, ran.stdout + ran.stderr
    assert "probe exited 0" in ran.stdout, ran.stdout
