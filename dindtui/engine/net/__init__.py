"""Reaching daemons: level 0s and SDK clients, the sockets this process serves (tunnels to a
remote engine's levels, the ssh proxy), event streams and their watcher."""
