"""Connections to daemons: level 0 from DOCKER_HOST or the default socket, deeper levels through
the socket tree (a host directory bind-mounted into each level at /run/dindtui)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import config, guard
from ..errors import DindtuiError, EngineUnreachable, NotEnoughPrivilege
from . import bare, sshproxy
from .served import served_here

if TYPE_CHECKING:
    import docker

try:
    STATE_DIR = config.state_dir()
except config.BadSetting:  # reported by config.validate() before any command runs
    STATE_DIR = config.DEFAULT_STATE_DIR
DIR_MODE = 0o755  # sockets inside are 0660; directories only need to be crossed
DEFAULT_SOCKET = "/var/run/docker.sock"
API_TIMEOUT = 20        # every ordinary call
SLOW_TIMEOUT = 900      # builds, image loads: no reply until the work is done
UNIX_PATH_MAX = 100  # sun_path holds 108 bytes; keep a margin
POOL_SIZE = 32       # kept-alive connections per socket this process serves

_clients: dict[str, docker.DockerClient] = {}
PLACEHOLDER_API = "1.24"  # replaced by the daemon's own version before the client is used
_lock = threading.Lock()
_making: dict[str, threading.Lock] = {}  # one lock per client key, held while it is made



def __getattr__(name: str) -> Any:
    """The docker SDK and its HTTP stack (about 110 ms to import) are loaded when a client is
    first made or one of these is first asked for, never for a command or a first frame that
    reads only local sockets (bare.py). `API_ERRORS`: what a daemon's API can fail with, the
    one tuple every module catches; `READ_ERRORS`: what `read_json` can fail with, over the SDK
    or the bare socket; `SDK_ERRORS`: the SDK's own failures and its HTTP stack's."""
    if name in ("API_ERRORS", "READ_ERRORS", "SDK_ERRORS"):
        import docker.errors
        import requests.exceptions
        sdk = (docker.errors.DockerException, requests.exceptions.RequestException)
        errors: dict[str, tuple[type[Exception], ...]] = {
            "API_ERRORS": (docker.errors.APIError, requests.exceptions.RequestException),
            "SDK_ERRORS": sdk, "READ_ERRORS": (*sdk, bare.BareError)}
        globals().update(errors)
        return errors[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _errors(name: str) -> tuple[type[Exception], ...]:
    """One of the tuples above, from inside this module (where `__getattr__` is not asked)."""
    found: tuple[type[Exception], ...] = __getattr__(name)
    return found


if TYPE_CHECKING:
    import docker.errors
    import requests.exceptions
    API_ERRORS: tuple[type[docker.errors.APIError], type[requests.exceptions.RequestException]]
    SDK_ERRORS: tuple[type[docker.errors.DockerException],
                      type[requests.exceptions.RequestException]]
    READ_ERRORS: tuple[type[docker.errors.DockerException],
                       type[requests.exceptions.RequestException], type[bare.BareError]]


@dataclass(frozen=True)
class Ping:
    ok: bool
    version: str | None = None  # daemon version from the Server header
    error: str | None = None
    api_version: str | None = None  # from the Api-Version header


_api_versions: dict[str, str] = {}  # endpoint -> API version its /_ping announced


def level0_context() -> str | None:
    """The docker CLI context that names level 0, as the docker CLI picks it: none when
    DOCKER_HOST is set, else DOCKER_CONTEXT, else the config's current context."""
    if os.environ.get("DOCKER_HOST"):
        return None
    name = os.environ.get("DOCKER_CONTEXT")
    if not name:
        config_dir = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
        try:
            with open(os.path.join(config_dir, "config.json")) as f:
                name = json.load(f).get("currentContext")
        except (OSError, ValueError, AttributeError):
            name = None
    return None if not name or name == "default" else name


@dataclass(frozen=True)
class Context:
    host: str
    tls: object | None  # docker.tls.TLSConfig when the context has client certificates


_contexts: dict[str, Context] = {}


def _context(name: str) -> Context:
    """A docker CLI context, read as the docker CLI stores it: `contexts/meta/<sha256 of the
    name>/meta.json` under the CLI's config directory, TLS files in `contexts/tls/<same>/`."""
    if name in _contexts:
        return _contexts[name]
    root = os.path.join(os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker"),
                        "contexts")
    key = hashlib.sha256(name.encode()).hexdigest()
    try:
        with open(os.path.join(root, "meta", key, "meta.json")) as f:
            meta = json.load(f)
        endpoint = meta["Endpoints"]["docker"]
        host = endpoint["Host"]
    except FileNotFoundError:
        raise DindtuiError(f"no docker context named {name!r} (`docker context ls` lists "
                           "them)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DindtuiError(f"docker context {name!r} cannot be read: {exc}") from None
    tls = None
    directory = os.path.join(root, "tls", key, "docker")
    files = {f: os.path.join(directory, f) for f in ("ca.pem", "cert.pem", "key.pem")}
    if all(os.path.isfile(path) for path in files.values()):
        from docker.tls import TLSConfig
        tls = TLSConfig(client_cert=(files["cert.pem"], files["key.pem"]),
                        ca_cert=files["ca.pem"], verify=not endpoint.get("SkipTLSVerify"))
    _contexts[name] = Context(host, tls)
    return _contexts[name]


@dataclass(frozen=True)
class Origin:
    """One level 0: an engine a tree starts from, and how it is reached."""

    endpoint: str
    label: str = "host"          # how the TUI names its root (several engines)
    context: str | None = None   # the docker CLI context it comes from (its TLS files)
    from_env: bool = False       # DOCKER_HOST or --host: TLS from DOCKER_TLS_VERIFY and
                                 # DOCKER_CERT_PATH, as the docker CLI takes them


_known: dict[str, Origin] = {}  # endpoint -> the level 0 it is (its TLS settings): a cache


def default_origin() -> Origin:
    """Level 0 as the docker CLI picks its engine: DOCKER_HOST (or --host), else a context
    (--context, DOCKER_CONTEXT, the current one), else the default socket."""
    if os.environ.get("DOCKER_HOST"):
        return Origin(os.environ["DOCKER_HOST"], from_env=True)
    name = level0_context()
    if name is not None:
        return Origin(_context(name).host, context=name)
    return Origin(f"unix://{DEFAULT_SOCKET}")


def origins_for(engines: list[tuple[str, str]]) -> list[Origin]:
    """The level 0s of a command line (`--host`/`--context`, each given any number of times),
    each named in the tree by its context or its address; none given: the default one. Raises
    on a context that cannot be read, and on an engine given twice."""
    if not engines:
        return [default_origin()]
    made: list[Origin] = []
    for kind, value in engines:
        if kind == "--context" and value == "default":  # the docker CLI's own, never stored
            origin = Origin(os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}",
                            label="default", from_env=True)
        elif kind == "--context":
            origin = Origin(_context(value).host, label=value, context=value)
        else:
            origin = Origin(value, label=host_label(value), from_env=True)
        if any(o.endpoint == origin.endpoint for o in made):
            raise DindtuiError(f"engine {value} is given twice (as {origin.endpoint})")
        label, n = origin.label, 2
        while any(o.label == label for o in made):
            label, n = f"{origin.label}#{n}", n + 1
        made.append(Origin(origin.endpoint, label, origin.context, origin.from_env))
    return made


def know(origins: list[Origin]) -> None:
    """Remember how each level 0 is reached (its TLS settings), for the clients made for it."""
    for origin in origins:
        _known[origin.endpoint] = origin


def host_label(endpoint: str) -> str:
    """An engine's name in the tree: "host" for this machine's default socket, the address
    for a TCP or SSH engine, the socket's file name for another unix socket. Never a "/":
    it starts the paths of that engine's levels."""
    if endpoint.startswith("unix://"):
        path = endpoint[len("unix://"):]
        if os.path.realpath(path) == os.path.realpath(DEFAULT_SOCKET):
            return "host"
        return "unix:" + os.path.basename(path)
    parts = urlsplit(endpoint)
    return (parts.netloc or endpoint).replace("/", "_")


def origin_of(endpoint: str) -> Origin | None:
    """The level 0 at `endpoint`: one an Engine was given, or the default one."""
    known = _known.get(endpoint)
    if known is not None:
        return known
    default = default_origin()
    return default if default.endpoint == endpoint else None


def is_level0(endpoint: str) -> bool:
    """`endpoint` is a level 0 an Engine of this process was given (no file is read)."""
    return endpoint in _known


def default_endpoint() -> str:
    """The endpoint of the default level 0 (as the docker CLI picks its engine)."""
    return default_origin().endpoint


def is_remote(endpoint: str) -> bool:
    """A level 0 whose daemon does not see this machine's files: not a unix socket, or the
    socket of one of dindtui's own levels (`DOCKER_HOST=$(dindtui env l1)`: that daemon lives
    in a container, and the bind sources of its children are paths inside it). Its socket tree
    is out of reach; its levels are reached through tunnels (engine/tunnel.py)."""
    if not endpoint.startswith("unix://"):
        return True
    path, state = os.path.realpath(endpoint[len("unix://"):]), os.path.realpath(STATE_DIR)
    return path.startswith(state + "/")


def socket_group(endpoint: str) -> int:
    """The group every level's socket gets on the host: the group of level 0's own socket (who
    may use that engine may use its levels), or root alone when that socket is not here."""
    if endpoint.startswith("unix://"):
        try:
            return os.stat(endpoint[len("unix://"):]).st_gid
        except OSError:
            pass
    return 0


def level_tree_root(endpoint: str) -> str:
    """The directory under which the socket directories of the levels made on the engine at
    `endpoint` (a level 0) live, in this namespace: STATE_DIR/c, or STATE_DIR/ns/<namespace>/c.
    The engine of this machine's default socket, and a remote one (the path is on its
    machine), use it directly; another local engine gets STATE_DIR/e/<its socket's hash>/..., so
    that two engines' levels of the same name never share a directory. Nothing outside it is
    ever removed by dindtui but, once empty, the directories above it made for it (the
    namespace's, another engine's STATE_DIR/e/<hash>): gate.remove_socket_dir."""
    base = STATE_DIR
    if not is_remote(endpoint):
        path = os.path.realpath(endpoint[len("unix://"):])
        if path != os.path.realpath(DEFAULT_SOCKET):
            base = os.path.join(STATE_DIR, "e", hashlib.sha1(path.encode()).hexdigest()[:12])
    ns = config.namespace()
    return os.path.join(base, "ns", ns, "c") if ns else os.path.join(base, "c")


def links_dir() -> str:
    return os.path.join(STATE_DIR, "s")


def ensure_dir(path: str) -> str:
    """Create `path` (under STATE_DIR) and its missing parents with DIR_MODE whatever the umask;
    refuse a component that is a symlink or is owned by another user."""
    path = os.path.normpath(path)
    if path != STATE_DIR and not path.startswith(STATE_DIR + "/"):
        raise DindtuiError(f"refusing to create {path}: outside the state directory {STATE_DIR}")
    parts = [STATE_DIR] + [p for p in os.path.relpath(path, STATE_DIR).split("/") if p != "."]
    current = ""
    for part in parts:
        current = os.path.join(current, part) if current else part
        try:
            os.mkdir(current, DIR_MODE)
            os.chmod(current, DIR_MODE)
            continue
        except FileExistsError:
            pass
        st = os.lstat(current)
        if current.startswith(STATE_DIR) and (not stat.S_ISDIR(st.st_mode)
                                              or st.st_uid != os.geteuid()):
            raise DindtuiError(f"refusing to use {current}: it is not a directory owned by this "
                               "user (a symlink or another user's file); remove it by hand")
    return path


def short_socket_path(path: str) -> str:
    """A path to `path` short enough for a unix socket address (a symlink when it is too long)."""
    if len(path) <= UNIX_PATH_MAX:
        return path
    links = ensure_dir(links_dir())
    link = os.path.join(links, hashlib.sha1(path.encode()).hexdigest()[:16] + ".sock")
    try:
        if os.lstat(link).st_uid == os.geteuid() and os.readlink(link) == path:
            return link  # ours, and pointing where it must
    except OSError:
        pass  # missing, or not a symlink: replaced below
    tmp = f"{link}.{os.getpid()}"
    os.symlink(path, tmp)
    os.replace(tmp, link)
    return link


def endpoint_for_socket(path: str) -> str:
    return "unix://" + short_socket_path(path)


def ping_socket(path: str, timeout: float = 1.5) -> Ping:
    """Ask a daemon's unix socket for /_ping without the SDK: fast, bounded, never hangs."""
    if served_here("unix://" + path):
        return _ping_kept_alive("unix://" + path, timeout)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(short_socket_path(path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data and len(data) < 8192:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return Ping(False, error=exc.strerror or str(exc))
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    if not head or " 200 " not in head[0] + " ":
        return Ping(False, error=guard.text(head[0], 200) if head else "no answer")
    version = api_version = None
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "server" and "Docker/" in value:
            version = guard.text((value.split("Docker/", 1)[1].split() or [""])[0], 40) or None
        elif name.lower() == "api-version" and re.fullmatch(r"1\.[0-9]{1,3}", value.strip()):
            api_version = value.strip()
    if api_version:
        # A client made for this socket later needs no /version request of its own.
        _api_versions["unix://" + short_socket_path(path)] = api_version
    return Ping(True, version=version, api_version=api_version)


def _one_pool(made: docker.DockerClient) -> docker.DockerClient:
    """The docker SDK keeps one connection pool per request URL on a unix socket (every query
    string its own, so nearly every request opens a new connection). On a socket this process
    serves, that is an exec or an ssh session each (an `ls` over SSH opened 11): its client
    keeps one pool for the socket, larger, and its connections are reused."""
    adapter = getattr(made.api, "_custom_adapter", None)
    get_connection = getattr(adapter, "get_connection", None)
    if adapter is None or get_connection is None:
        return made
    adapter.max_pool_size = POOL_SIZE

    def one_pool(url: str, proxies: Any = None) -> Any:
        return get_connection("http+docker://localhost", proxies)

    adapter.get_connection = one_pool
    return made


def _ping_kept_alive(endpoint: str, timeout: float) -> Ping:
    """/_ping on a socket this process serves (a tunnel, the ssh proxy), over the SDK client's
    kept-alive connection: there, every new connection costs an exec (or an ssh session) on
    the remote engine. A client made here takes its API version from the answer, so the
    wait stays bounded by `timeout`."""
    import docker
    with _lock:
        made = _clients.get(endpoint)
    fresh = made is None
    if made is None:
        made = _one_pool(docker.DockerClient(base_url=endpoint, timeout=API_TIMEOUT,
                                             version=PLACEHOLDER_API))
    api = made.api
    try:
        response = api._get(api._url("/_ping"), timeout=timeout)
    except _errors("SDK_ERRORS") as exc:
        return Ping(False, error=" ".join(str(exc).split())[:200] or type(exc).__name__)
    if response.status_code != 200:
        return Ping(False, error=f"HTTP {response.status_code}")
    server = response.headers.get("Server", "")
    version = server.split("Docker/", 1)[1].split()[0] if "Docker/" in server else None
    api_version = response.headers.get("Api-Version")
    if api_version:
        _api_versions[endpoint] = api_version
        if fresh:
            api._version = api_version
            with _lock:
                _clients.setdefault(endpoint, made)
    return Ping(True, version=version, api_version=api_version)


def bare_socket(endpoint: str) -> str | None:
    """The socket path through which `endpoint` is read without the SDK (bare.py): a unix
    socket this process does not serve itself."""
    if endpoint.startswith("unix://") and not served_here(endpoint):
        return short_socket_path(endpoint[len("unix://"):])
    return None


def read_json(endpoint: str, url: str, timeout: float = API_TIMEOUT,
              limit: int = bare.LIMIT) -> Any:
    """GET `url` (unversioned: "/containers/json?all=1") from `endpoint`'s API, as JSON: over
    the bare socket (at most `limit` bytes) when there is one, else through the endpoint's SDK
    client. Raises `READ_ERRORS`."""
    path = bare_socket(endpoint)
    if path is not None:
        return bare.get_json(path, url, timeout, limit)
    api = client(endpoint, check=False).api
    return api._result(api._get(api.base_url + url, timeout=timeout), json=True)


def post(endpoint: str, url: str, timeout: float = API_TIMEOUT) -> None:
    """POST `url` (no body) to `endpoint`'s API, bare or through the SDK as `read_json`.
    Raises `READ_ERRORS` (`status_of` tells the HTTP status of a refusal)."""
    path = bare_socket(endpoint)
    if path is not None:
        bare.post(path, url, timeout)
        return
    api = client(endpoint, check=False).api
    api._raise_for_status(api._post(api.base_url + url, timeout=timeout))


def status_of(exc: BaseException) -> int | None:
    """The HTTP status a daemon refused with (either reader), None for no answer at all."""
    status = getattr(exc, "status", None)
    if status is None:
        status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


class LazyClient:
    """Stands for `client(endpoint)`, made (with the SDK's import) only if it is used: for a
    path that needs it only when something goes wrong."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    @property
    def api(self) -> Any:
        return client(self.endpoint, check=False).api


def query(url: str, **params: Any) -> str:
    """`url` with its query string; a dict or list parameter is sent as JSON (filters)."""
    from urllib.parse import urlencode
    pairs = {key: json.dumps(value) if isinstance(value, (dict, list)) else value
             for key, value in params.items() if value is not None}
    return f"{url}?{urlencode(pairs)}" if pairs else url


def client(endpoint: str | None = None, *, check: bool = True,
           slow: bool = False) -> docker.DockerClient:
    """A cached SDK client for `endpoint` (level 0 when None). Raises one-line errors.

    `slow` gives a client with a long read timeout, for builds and image loads."""
    endpoint = endpoint or default_endpoint()
    key = f"{endpoint} slow" if slow else endpoint
    with _lock:
        cached = _clients.get(key)
        making = _making.setdefault(key, threading.Lock())
    if cached is not None:
        return cached
    # One maker per endpoint: threads that ask at once (a spawn of 16 siblings) wait for the
    # first one's client instead of each making one and asking the daemon its version.
    with making:
        with _lock:
            cached = _clients.get(key)
        if cached is not None:
            return cached
        return _make_client(endpoint, key, check, slow)


def _local_api_version(endpoint: str) -> str | None:
    """The API version of a daemon on a local unix socket, from a bare /_ping (kept from an
    earlier one): Docker's /version, the SDK's way to learn it, runs runc and docker-init."""
    if not endpoint.startswith("unix://") or served_here(endpoint):
        return None
    known = _api_versions.get(endpoint)
    return known or ping_socket(endpoint.removeprefix("unix://"), timeout=2).api_version


def _make_client(endpoint: str, key: str, check: bool, slow: bool) -> docker.DockerClient:
    import docker
    import docker.utils
    timeout = SLOW_TIMEOUT if slow else API_TIMEOUT
    origin = origin_of(endpoint)
    try:
        # The API version is asked for only once the session trusts the right CA.
        if endpoint.startswith("ssh://"):
            made = docker.DockerClient(base_url="unix://" + sshproxy.socket_for(endpoint),
                                       timeout=timeout, version=PLACEHOLDER_API)
        elif origin is not None and origin.from_env:
            made = docker.DockerClient(timeout=timeout,
                                       version=_local_api_version(endpoint) or PLACEHOLDER_API,
                                       **docker.utils.kwargs_from_env(
                                           environment=dict(os.environ, DOCKER_HOST=endpoint)))
        elif origin is not None and origin.context is not None:
            context = _context(origin.context)
            made = docker.DockerClient(base_url=endpoint, timeout=timeout,
                                       tls=context.tls or False, version=PLACEHOLDER_API)
        else:
            made = docker.DockerClient(base_url=endpoint, timeout=timeout,
                                       version=_local_api_version(endpoint) or PLACEHOLDER_API)
        _trust_only_its_ca(made)
        if endpoint.startswith("ssh://") or served_here(endpoint):
            _one_pool(made)
        if made.api._version == PLACEHOLDER_API:
            made.api._version = made.api._retrieve_server_version()
    except docker.errors.DockerException as exc:
        raise describe_connection_error(endpoint, exc) from None
    if check:
        try:
            made.ping()
        except _errors("SDK_ERRORS") as exc:
            raise describe_connection_error(endpoint, exc) from None
    with _lock:
        _clients[key] = made
    return made


def _trust_only_its_ca(made: docker.DockerClient) -> None:
    """A TLS engine is verified against its own CA (DOCKER_CERT_PATH, a context's ca.pem), never
    against REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE: requests lets those variables override a
    session's CA file, and then no engine certificate verifies. Proxies still come from the
    environment, as the docker CLI takes them."""
    import requests.utils
    api = made.api
    if api.base_url.startswith("https://") and isinstance(api.verify, str):
        api.proxies = requests.utils.get_environ_proxies(api.base_url)
        api.trust_env = False


def forget(endpoint: str) -> None:
    with _lock:
        for key in (endpoint, f"{endpoint} slow"):
            _clients.pop(key, None)


def keep_only(endpoints: set[str]) -> list[str]:
    """Close the cached clients of daemons that are no longer in the trees (levels exited by
    anyone: another dindtui, the docker CLI), whose kept-alive connections would stay open for
    as long as this process runs; level 0s stay. Returns the endpoints closed."""
    with _lock:
        gone = [key for key in _clients
                if key.removesuffix(" slow") not in endpoints
                and key.removesuffix(" slow") not in _known]
        closed = [_clients.pop(key) for key in gone]
    for made in closed:
        try:
            made.close()  # a reading under way on it ends with an error, said as none
        except Exception:  # noqa: BLE001 - closing what is gone: nothing to report
            pass
    return gone


def describe_connection_error(endpoint: str, exc: Exception) -> DindtuiError:
    text = str(exc)
    if endpoint.startswith("ssh://"):
        parts = urlsplit(endpoint)
        command = " ".join(["ssh", *(["-p", str(parts.port)] if parts.port else []),
                            (f"{parts.username}@" if parts.username else "")
                            + (parts.hostname or "?"), "docker", "version"])
        return EngineUnreachable(f"no Docker engine answers at {endpoint}: check that "
                                 f"`{command}` works (dindtui goes through ssh and the docker "
                                 "CLI there)")
    if "Permission denied" in text or "PermissionError" in text:
        return NotEnoughPrivilege(f"permission denied on {endpoint}: run as root or as a member "
                                  "of the docker group")
    if endpoint.startswith(("tcp://", "https://", "http://")):
        return EngineUnreachable(f"no Docker engine answers at {endpoint}: check that its "
                                 "daemon listens there (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH "
                                 "or the context's certificates for TLS)")
    where = endpoint if "DOCKER_HOST" in os.environ or endpoint != default_endpoint() else \
        f"{endpoint} (set DOCKER_HOST to use another engine)"
    return EngineUnreachable(f"no Docker engine answers at {where}: start dockerd, or run "
                             "`dindtui` after installing docker.io")
