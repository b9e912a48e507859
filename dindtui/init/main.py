"""`dindtui-init`'s commands: the init (no argument or a command), `seed`, `du`,
`live-restore`, `usage`."""

from __future__ import annotations

from .common import InitError, log
from .supervise import Stopping


def main(argv: list[str]) -> int:
    # Each command imports only its own modules: the init, PID 1 of every level, starts
    # without the seeder's (hashlib, the bolt reader), du's or swarm's.
    try:
        if argv[:1] == ["seed"]:
            from .seed import seed_main
            return seed_main(argv[1:])
        if argv[:1] == ["du"]:
            from .du import du_main
            return du_main(argv[1:])
        if argv[:1] == ["live-restore"]:
            from .swarm import live_restore_main
            return live_restore_main(argv[1:])
        if argv[:1] == ["usage"]:
            from .usage import usage_main
            return usage_main(argv[1:])
        from .modes import init
        return init(argv)
    except InitError as exc:
        log(f"error: {exc}")
        return exc.status
    except Stopping as stopping:
        log(f"stopped by signal {stopping.signo} before the daemon was ready")
        return 128 + stopping.signo
    except KeyboardInterrupt:
        return 130
