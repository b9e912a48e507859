"""`dindtui-init`'s commands: the init (no argument or a command), `seed`, `du`,
`live-restore`, `usage`."""

from __future__ import annotations

from .common import InitError, log
from .du import du_main
from .modes import init
from .seed import seed_main
from .supervise import Stopping
from .swarm import live_restore_main
from .usage import usage_main


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["seed"]:
            return seed_main(argv[1:])
        if argv[:1] == ["du"]:
            return du_main(argv[1:])
        if argv[:1] == ["live-restore"]:
            return live_restore_main(argv[1:])
        if argv[:1] == ["usage"]:
            return usage_main(argv[1:])
        return init(argv)
    except InitError as exc:
        log(f"error: {exc}")
        return exc.status
    except Stopping as stopping:
        log(f"stopped by signal {stopping.signo} before the daemon was ready")
        return 128 + stopping.signo
    except KeyboardInterrupt:
        return 130
