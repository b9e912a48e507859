#!/usr/bin/env python3
"""PID 1 of the dindtui image: prepare the container, run dockerd inside it, then a shell or TCP.

The entry of `/usr/local/bin/dindtui-init`. The code is the package dindtui/init (standard
library only, nothing of dindtui's), which the image ships beside it in
/usr/local/lib/dindtui-init; on this machine the engine runs this same file for local seeding.

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
  live-restore (`dindtui-init live-restore on|off`): turn dockerd's live-restore on or off
               through its reload; swarm mode refuses it (the image's `docker` calls this
               around `swarm init`, `join` and `leave`).

Exit statuses: 0 ok (or the command's own), 2 bad input, 3 not enough privilege,
4 cgroup setup failed, 5 dockerd failed to start, 6 seeding failed.
"""

from __future__ import annotations

import os
import sys

IMAGE_LIBRARY = "/usr/local/lib/dindtui-init"  # where the image keeps the package

if __package__:  # imported as dindtui.inner_init
    from .init.main import main
else:  # run as a script: in the image, or from the source tree on this machine
    for where in (IMAGE_LIBRARY, os.path.dirname(os.path.realpath(__file__))):
        if os.path.isfile(os.path.join(where, "init", "main.py")):
            sys.path.insert(0, where)
            break
    from init.main import main  # type: ignore[no-redef]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
