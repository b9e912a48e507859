"""Client certificates of a level that serves its daemon on TCP with TLS (`spawn --port`)."""

from __future__ import annotations

import io
import os
import tarfile

from ..net import connect
from ..errors import DindtuiError
from ..tree import levels
from ..tree.levels import Level

CLIENT_FILES = ("ca.pem", "cert.pem", "key.pem")


def fetch_client_certs(level: Level, into: str) -> str:
    """Copy the level's generated client certificates (ca.pem, cert.pem, key.pem) into `into`;
    returns that directory, ready for DOCKER_CERT_PATH. The directory is made 0700 when it is
    new, must not be a symlink nor another user's, and each file is written beside its place
    and renamed over it (never through a symlink); key.pem is 0600."""
    if level.depth == 0 or not level.port:
        raise DindtuiError(f"level {level.label} serves no TCP port: spawn it with --port")
    client = levels.parent_client(level)
    try:
        stream, _ = client.api.get_archive(level.container_id, "/certs/client")
    except connect.API_ERRORS as exc:
        raise DindtuiError(f"no client certificates in {level.path}: {exc}") from None
    files = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        for member in archive.getmembers():
            name = os.path.basename(member.name)
            content = archive.extractfile(member) if member.isfile() else None
            if name in CLIENT_FILES and content is not None:
                files[name] = content.read()
    missing = [name for name in CLIENT_FILES if name not in files]
    if missing:
        raise DindtuiError(f"level {level.path} has no {', '.join(missing)} yet")
    directory = _private_dir(into)
    try:
        for name, data in files.items():
            _write_beside(directory, name, data, 0o600 if name == "key.pem" else 0o644)
    finally:
        os.close(directory)
    return into


def _private_dir(path: str) -> int:
    """An open descriptor of directory `path` (made 0700 when missing), refusing a symlink."""
    try:
        os.makedirs(path, mode=0o700)
        os.chmod(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DindtuiError(f"cannot make {path}: {exc.strerror}") from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        why = "it is a symlink" if os.path.islink(path) else exc.strerror
        raise DindtuiError(f"refusing to write certificates into {path}: {why}") from None
    if os.fstat(fd).st_uid != os.geteuid():
        os.close(fd)
        raise DindtuiError(f"refusing to write certificates into {path}: another user owns it")
    return fd


def _write_beside(directory: int, name: str, data: bytes, mode: int) -> None:
    temporary = f".{name}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode,
                 dir_fd=directory)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
