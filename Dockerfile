# The dindtui level image: a Docker daemon that runs inside a container, at any depth.
# Build it with `dindtui image build` (it makes a base image when none can be pulled).
ARG BASE_IMAGE=debian:trixie-slim
FROM ${BASE_IMAGE}

# docker.io is the engine (Docker 26 on trixie); docker-cli is only recommended by it, and shell
# mode wants a `docker` command. docker-compose and docker-buildx (the CLI plugins `docker
# compose` and `docker buildx`) are what CI jobs run inside Docker-in-Docker. Everything
# optional is left out and the leftovers trimmed. Other engines (`dindtui image build --docker`):
# DOCKER_SUITE takes docker.io from another suite of the base's own archive (Docker 28 from
# forky on trixie); a bookworm base has Docker 20.10, whose docker.io holds the CLI, and no
# compose v2 or buildx (EXTRA_PACKAGES empty).
ARG DOCKER_SUITE=""
ARG EXTRA_PACKAGES="docker-cli docker-compose docker-buildx"
RUN set -e \
 && if [ -n "$DOCKER_SUITE" ]; then \
      uri=$(sed -n 's/^deb \([^ ]*\) .*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n 1); \
      [ -n "$uri" ] || uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources | head -n 1); \
      echo "deb $uri $DOCKER_SUITE main" > /etc/apt/sources.list.d/engine.list; \
      engine=""; \
    else engine="docker.io"; fi \
 && apt-get -o Acquire::Check-Valid-Until=false update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      $engine $EXTRA_PACKAGES tini iptables python3-minimal openssl ca-certificates \
 && if [ -n "$DOCKER_SUITE" ]; then \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        -t "$DOCKER_SUITE" docker.io docker-cli; fi \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* \
      /usr/share/doc /usr/share/man /usr/share/info /usr/share/locale /usr/share/lintian \
      /usr/bin/containerd-stress /usr/bin/ctr /usr/bin/containerd-shim /usr/bin/containerd-shim-runc-v1

COPY dindtui/init /usr/local/lib/dindtui-init/init
COPY dindtui/inner_init.py /usr/local/bin/dindtui-init
# `docker` before Docker's own on PATH: swarm init/join turn live-restore off first (swarm mode
# refuses it), swarm leave turns it on again; everything else goes straight to /usr/bin/docker.
COPY dindtui/init/docker.sh /usr/local/bin/docker
# The init's modules compiled here once, not by every level's init as it starts (its CPU).
RUN chmod 755 /usr/local/bin/dindtui-init /usr/local/bin/docker \
 && python3 -m compileall -q /usr/local/lib/dindtui-init

# /certs is no volume: the certificates live in the container itself (made again when a kept
# volume gets a new container), so removing a level leaves no anonymous volume behind.
VOLUME /var/lib/docker
ENV DOCKER_TLS_CERTDIR=/certs
# tini (a dependency of docker.io) is PID 1: it handles signals from its first instruction and
# forwards them, so a `docker stop` that lands while Python is still starting is not lost (PID 1
# drops signals it has no handler for); it also reaps orphans. dindtui-init does the rest.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/dindtui-init"]

# A hash of this file, the init (inner_init.py and init/) and the base image: `dindtui image build` skips the build
# when an image with the same hash exists already.
ARG DINDTUI_INPUTS=unknown
LABEL dindtui.inputs="${DINDTUI_INPUTS}" dindtui.image="level"
