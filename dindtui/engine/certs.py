"""Client certificates of a level that serves its daemon on TCP with TLS (`spawn --port`)."""

from __future__ import annotations

import io
import os
import tarfile

from . import levels
from .errors import DindtuiError
from .images import API_ERRORS
from .levels import Level

CLIENT_FILES = ("ca.pem", "cert.pem", "key.pem")


def fetch_client_certs(level: Level, into: str) -> str:
    """Copy the level's generated client certificates (ca.pem, cert.pem, key.pem) into `into`;
    returns that directory, ready for DOCKER_CERT_PATH."""
    if level.depth == 0 or not level.port:
        raise DindtuiError(f"level {level.label} serves no TCP port: spawn it with --port")
    client = levels.parent_client(level)
    try:
        stream, _ = client.api.get_archive(level.container_id, "/certs/client")
    except API_ERRORS as exc:
        raise DindtuiError(f"no client certificates in {level.path}: {exc}") from None
    os.makedirs(into, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        for member in archive.getmembers():
            name = os.path.basename(member.name)
            if name in CLIENT_FILES and member.isfile():
                with open(os.path.join(into, name), "wb") as target:
                    target.write(archive.extractfile(member).read())
                os.chmod(os.path.join(into, name), 0o600 if name == "key.pem" else 0o644)
    missing = [name for name in CLIENT_FILES if not os.path.exists(os.path.join(into, name))]
    if missing:
        raise DindtuiError(f"level {level.path} has no {', '.join(missing)} yet")
    return into
