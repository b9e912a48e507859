#!/bin/sh
# `docker` in a level (/usr/local/bin/docker): Docker's CLI, except that on this level's own
# daemon `docker swarm init` and `docker swarm join` first turn live-restore off (swarm mode
# refuses it) through dockerd's reload, and a `docker swarm leave` turns it on again after.
# See dindtui-init's live-restore command.
if [ "$1" = swarm ] && [ -z "$DOCKER_HOST" ] && [ -z "$DOCKER_CONTEXT" ]; then
    case "$2" in
        init|join)
            /usr/local/bin/dindtui-init live-restore off || exit $?
            ;;
        leave)
            /usr/bin/docker "$@" || exit $?
            exec /usr/local/bin/dindtui-init live-restore on
            ;;
    esac
fi
exec /usr/bin/docker "$@"
