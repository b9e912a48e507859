"""A level 0 laid out as a packaged Docker 29 is, for the benchmarks: a container of the Docker
28 level image (flattened, so that no VOLUME splits /var/lib) whose /var/lib is one volume, a
system containerd rooted at /var/lib/containerd, dockerd on the containerd image store pointed at
it, its socket at the same path on this machine and inside it (bind sources then mean the same
directory on both sides, as on a host). The commands reach it with `env`."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time

from dindtui.engine.lifecycle import images, privileges
from dindtui.engine.net import connect


class PackagedHost:
    def __init__(self) -> None:
        self.name = "dindtui-bench-packaged-" + secrets.token_hex(3)
        self.client = connect.client()

    def __enter__(self) -> dict[str, str]:
        images.build_image(None, engine="28")
        made = self.client.api.create_container(images.flavour("28").tag())
        try:
            exported = b"".join(self.client.api.export(made["Id"]))
            self.client.api.import_image_from_data(
                exported, repository=self.name, tag="latest",
                changes=['ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dindtui-init"]'])
        finally:
            self.client.api.remove_container(made["Id"], force=True, v=True)
        self.shared = tempfile.mkdtemp(prefix="dindtui-pk-")
        self.volume = self.client.volumes.create(self.name)
        mode = privileges.decide(self.client, images.DEFAULT_IMAGE)
        self.container = self.client.api.create_container(
            f"{self.name}:latest", name=self.name,
            environment={"DINDTUI_MODE": "daemon", "DINDTUI_STORE": "containerd",
                         "DINDTUI_CONTAINERD": "system",
                         "DOCKERD_ARGS": f"--host=unix://{self.shared}/docker.sock"},
            host_config=privileges.host_config(self.client, mode, binds={
                self.name: {"bind": "/var/lib", "mode": "rw"},
                self.shared: {"bind": self.shared, "mode": "rw"}}))["Id"]
        self.client.api.start(self.container)
        endpoint = f"unix://{self.shared}/docker.sock"
        deadline = time.monotonic() + 60
        while not connect.ping_socket(f"{self.shared}/docker.sock").ok:
            if time.monotonic() > deadline:
                raise SystemExit("the packaged host's dockerd did not answer within 60 s")
            time.sleep(0.1)
        images.push_image(connect.default_endpoint(), endpoint, images.DEFAULT_IMAGE)
        return {"DOCKER_HOST": endpoint, "DINDTUI_STATE_DIR": f"{self.shared}/state"}

    def sh(self, script: str) -> str:
        ran = self.client.api.exec_create(self.container, ["sh", "-c", script])
        return str(self.client.api.exec_start(ran["Id"]).decode())

    def __exit__(self, *_: object) -> None:
        self.client.api.remove_container(self.container, force=True, v=True)
        self.volume.remove(force=True)
        self.client.images.remove(f"{self.name}:latest", force=True)
        shutil.rmtree(self.shared, ignore_errors=True)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import sys
    return subprocess.run([sys.executable, "-m", "dindtui", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env})
