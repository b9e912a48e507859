#!/usr/bin/env bash
# dindtui quick start for a Debian machine, as root:
#   ./quickstart.sh          install what is missing, start dockerd if needed, open the TUI
#   ./quickstart.sh test     the same, then run the whole test suite (stops what it started)
# Any other arguments are passed to the `dindtui` command: ./quickstart.sh ls
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
venv="${DINDTUI_VENV:-$here/.venv}"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  echo "quickstart.sh: run as root (it installs packages and starts dockerd)" >&2
  exit 1
fi

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v tmux >/dev/null || need+=(tmux)
# The distribution's own Python (3.11.2 on a fresh Debian 12): what the README promises, even
# when a newer python3 comes first on PATH.
/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
# The tests drive `dindtui serve` in a headless browser, and reach the engine over SSH.
[ "${1:-}" = test ] && { command -v chromium >/dev/null || need+=(chromium); }
[ "${1:-}" = test ] && { [ -x /usr/sbin/sshd ] || need+=(openssh-server); }
[ "${1:-}" = test ] && { command -v ssh >/dev/null || need+=(openssh-client); }
# ... and run levels under Podman's Docker API (Podman as level 0).
[ "${1:-}" = test ] && { command -v podman >/dev/null || need+=(podman); }
# ... and drive the zsh and fish completion scripts as those shells run them.
[ "${1:-}" = test ] && { command -v zsh >/dev/null || need+=(zsh); }
[ "${1:-}" = test ] && { command -v fish >/dev/null || need+=(fish); }
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    ca-certificates iptables >/dev/null
fi

python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3)

started_dockerd=""
engine_answers() { timeout 5 docker version >/dev/null 2>&1 || \
  timeout 5 "$python" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect("/var/run/docker.sock"); s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n"); sys.exit(0 if b" 200 " in s.recv(64) else 1)' 2>/dev/null; }
if [ -z "${DOCKER_HOST:-}" ] && ! engine_answers; then
  say "starting dockerd (log: /var/log/dindtui-dockerd.log)"
  dockerd >/var/log/dindtui-dockerd.log 2>&1 &
  started_dockerd=$!
  for _ in $(seq 120); do engine_answers && break; sleep 0.5; done
  engine_answers || { echo "quickstart.sh: dockerd did not start; see /var/log/dindtui-dockerd.log" >&2; exit 1; }
fi
stop_dockerd() {
  if [ -n "$started_dockerd" ]; then
    say "stopping the dockerd this script started"
    # The fault tests restart the engine, so the pid file knows the current one.
    pid=$(cat /var/run/docker.pid 2>/dev/null || echo "$started_dockerd")
    kill "$pid" "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 60); do [ -e "/proc/$pid" ] || break; sleep 0.5; done
    wait "$started_dockerd" 2>/dev/null || true
  fi
}

interpreter=$("$python" -c 'import sys; print(sys.version.split()[0], sys.base_prefix)')
if [ ! -x "$venv/bin/dindtui" ] || [ pyproject.toml -nt "$venv/.installed" ] || \
    [ "$(cat "$venv/.installed" 2>/dev/null)" != "$interpreter" ]; then
  say "installing dindtui into $venv (Python $interpreter)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip >/dev/null
  "$venv/bin/pip" install -q -e ".[test]"
  echo "$interpreter" > "$venv/.installed"
fi
# Bytecode for the checkout (an editable install has none until a first run writes it, and
# PYTHONDONTWRITEBYTECODE keeps it from ever being written): every `dindtui` started, by you or
# by the test suite hundreds of times, would compile its modules again (~90 ms each).
"$venv/bin/python" -m compileall -q dindtui >/dev/null

if [ "$(id -u)" = 0 ]; then
  # `dindtui` on PATH (when the name is free) and Tab completion for bash.
  link=/usr/local/bin/dindtui  # replaced only when missing, dangling, or another checkout's
  if [ ! -e "$link" ] || { [ -L "$link" ] && case "$(readlink "$link")" in
      */.venv/bin/dindtui) true ;; *) false ;; esac; }; then
    ln -sfn "$venv/bin/dindtui" "$link"
  fi
  mkdir -p /etc/bash_completion.d
  "$venv/bin/dindtui" completion bash > /etc/bash_completion.d/dindtui
fi

side_builds=()
side_build() {  # build a level image flavour in the background, its output in a log
  local log="/var/log/dindtui-image-docker-$1.log"
  "$venv/bin/dindtui" image build --docker "$1" >"$log" 2>&1 &
  side_builds+=("$!:$1:$log")
}
side_builds_done() {  # wait for them; a failed one is shown, and its test will say the rest
  local entry pid version log
  for entry in ${side_builds[@]+"${side_builds[@]}"}; do
    IFS=: read -r pid version log <<<"$entry"
    if ! wait "$pid"; then
      say "building the Docker $version level image failed (log: $log):"
      tail -n 5 "$log" >&2
    fi
  done
  side_builds=()
}
# The test suite also runs levels with Debian's other Docker engines (bookworm's 20.10, forky's
# 28). They are built here, alongside the steps that need no engine work: 20.10 on its own
# bookworm base while the main image builds, 28 (on the main image's trixie base) while the code
# is linted. One after another inside the suite they cost 1.5 min more.
[ "${1:-}" = test ] && side_build 20.10

# The whole suite (`test` and nothing more): its engine-free layer (Textual on a fake engine,
# pure functions: about 3 minutes of one CPU, no Docker) runs beside the image builds, which wait
# on the network, and the first minutes of the engine layer; its report follows the engine's.
free_pid="" free_log=""
if [ "${1:-}" = test ] && [ $# -eq 1 ]; then
  free_log=$(mktemp /tmp/dindtui-engine-free.XXXXXX)
  say "running the engine-free tests in the background (shown after the engine's)"
  "$venv/bin/python" -m pytest -ra -p no:cacheprovider -m "not docker" >"$free_log" 2>&1 &
  free_pid=$!
  trap 'kill "$free_pid" 2>/dev/null || true' EXIT  # (a failed build ends it too)
fi
free_done() {  # its report, and its status
  [ -n "$free_pid" ] || return 0
  local status=0
  wait "$free_pid" || status=$?
  free_pid=""
  say "the engine-free tests (status $status):"
  cat "$free_log" >&2
  rm -f "$free_log"
  return $status
}

say "building the level image (fast when up to date)"
"$venv/bin/dindtui" image build

case "${1:-}" in
  test)
    shift
    trap 'side_builds_done; free_done || true; stop_dockerd' EXIT
    side_build 28
    say "linting (ruff) and type checking (mypy)"
    "$venv/bin/ruff" check dindtui tests bench
    "$venv/bin/mypy"
    say "waiting for the Docker 20.10 and 28 level images"
    side_builds_done
    set +e
    if [ -n "$free_pid" ]; then
      # Two processes share the engine: its tests wait on daemons a good part of the time
      # (40 % of two CPUs idle, one process alone). The few that look at the whole engine or
      # restart it (marked `alone`) run after them, by themselves.
      say "running the tests against the engine (two processes)"
      "$venv/bin/python" -m pytest -ra -m "docker and not alone" -n 2 --dist loadgroup
      status=$?
      say "running the tests that need the engine to themselves"
      "$venv/bin/python" -m pytest -ra -m "docker and alone"
      alone=$?
      [ $status -ne 0 ] || status=$alone
      free_done
      free=$?
      [ $status -ne 0 ] || status=$free
    else
      say "running the test suite"
      "$venv/bin/python" -m pytest -ra "$@"
      status=$?
    fi
    set -e
    exit $status
    ;;
  "")
    exec "$venv/bin/dindtui"
    ;;
  *)
    exec "$venv/bin/dindtui" "$@"
    ;;
esac
