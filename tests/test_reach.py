"""Every level as an engine for other tools, against the real engine: `dindtui env` round trips
through a shell and the docker CLI, docker contexts follow spawn and exit, `--context` picks
level 0, and contexts dindtui did not make are never touched. The docker CLI's config lives in
a directory of the test's own (DOCKER_CONFIG), never the user's."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import docker

from helpers import run_cli
from conftest import docker_cli, needs_docker_cli
from dindtui.engine.access import reach


@needs_docker_cli
def test_env_round_trip_through_a_shell_and_the_docker_cli(tree, docker_config):
    level = tree.chain(2)[-1].level
    printed = run_cli("env", level.path)
    assert printed.returncode == 0, printed.stderr
    assert f"export DOCKER_HOST={level.endpoint}" in printed.stdout
    command = shlex.join([sys.executable, "-m", "dindtui", "env", level.path])
    shell = subprocess.run(["bash", "-c", f'eval "$({command})"; '
                            "docker info --format '{{.Name}} {{.ServerVersion}}'"],
                           capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0, shell.stderr
    name, version = shell.stdout.split()
    assert name == level.name and version.startswith("26.")  # a level's hostname is its name
    # The docker SDK reads the same variables.
    variables = dict(line[len("export "):].split("=", 1) for line in
                     printed.stdout.splitlines() if line.startswith("export "))
    client = docker.from_env(environment=variables)
    assert client.info()["Name"] == name


def test_a_level_s_own_socket_as_level_0(tree):
    """`eval "$(dindtui env l1)"; dindtui ...`: that daemon lives in a container, so the bind
    sources of its children are paths inside it, not here. dindtui reaches them as it reaches
    a remote engine's (tunnels), and spawn, ls, exec, du and exit work two levels down."""
    outer = tree.spawn(short="outer").level
    env = {"DOCKER_HOST": outer.endpoint or ""}
    first = run_cli("spawn", "--name", "inner", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["strategy"] == "seed"
    second = run_cli("spawn", "inner", "--name", "deeper", "--json", env=env)
    assert second.returncode == 0, second.stderr
    ran = run_cli("exec", "inner/deeper", "--", "docker", "info", "--format", "{{.Name}}",
                  env=env)
    assert ran.returncode == 0 and ran.stdout.strip() == "deeper", ran.stderr
    shown = json.loads(run_cli("ls", "--json", env=env).stdout)
    inner = shown["children"][0]
    assert (inner["name"], inner["state"]) == ("inner", "ready")
    assert inner["children"][0]["state"] == "ready"
    usage = json.loads(run_cli("du", "--json", env=env).stdout)
    assert usage["method"] == "inode" and {v["level"] for v in usage["volumes"]} == {
        "inner", "inner/deeper"}
    gone = run_cli("exit", "inner", "--rm-volume", env=env)
    assert gone.returncode == 0, gone.stderr
    assert json.loads(run_cli("ls", "--json", env=env).stdout)["children"] == []


def test_env_of_a_stopped_level_and_of_nothing_says_one_line(tree):
    missing = run_cli("env", "no-such-level")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1


@needs_docker_cli
def test_contexts_follow_spawn_and_exit_and_leave_the_user_s_alone(tree, docker_config):
    first = tree.spawn(short="ctx").level
    # A context of the user's own, with a name that looks like dindtui's: never touched.
    user_context = reach.context_name(first) + "x"
    made = docker_cli("context", "create", user_context, "--docker",
                      "host=unix:///var/run/docker.sock")
    assert made.returncode == 0, made.stderr
    synced = run_cli("context", "sync", "--json")
    assert synced.returncode == 0, synced.stderr
    name = reach.context_name(first)
    assert json.loads(synced.stdout)["created"] == [name]
    listed = docker_cli("--context", name, "info", "--format", "{{.Name}}")
    assert listed.returncode == 0 and listed.stdout.strip() == first.name

    # From now on spawn and exit keep the contexts in step, with no further sync.
    second = tree.spawn(first.path, short="deeper").level
    assert reach.context_name(second) in {c.name for c in reach.list_contexts()}
    deeper = docker_cli("--context", reach.context_name(second), "version", "--format",
                        "{{.Server.Version}}")
    assert deeper.returncode == 0 and deeper.stdout.startswith("26."), deeper.stderr
    assert run_cli("exit", first.path).returncode == 0
    left = {c.name for c in reach.list_contexts()}
    assert name not in left and reach.context_name(second) not in left
    assert user_context in left
    assert docker_cli("context", "inspect", user_context).returncode == 0

    # Every synced level gone: the contexts still follow the next level (issue: they stopped
    # without a word), until `context rm` says to stop.
    third = tree.spawn(short="after").level
    assert reach.context_name(third) in {c.name for c in reach.list_contexts()}
    stopped = run_cli("context", "rm")
    assert stopped.returncode == 0 and "removed 1 context(s)" in stopped.stdout
    fourth = tree.spawn(short="unfollowed").level
    assert not [c for c in reach.list_contexts() if c.ours and c.path == fourth.tree_path]


def test_context_selects_level_0(tree, docker_config):
    level = tree.spawn(short="zero").level
    assert run_cli("context", "sync").returncode == 0
    name = reach.context_name(level)
    for how in (["--context", name], []):
        env = {} if how else {"DOCKER_CONTEXT": name}
        shown = run_cli(*how, "ls", "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        root = json.loads(shown.stdout)
        assert root["endpoint"] == level.endpoint and root["version"].startswith("26.")
    unknown = run_cli("--context", "nobody-has-this", "ls")
    assert unknown.returncode == 1 and "no docker context named 'nobody-has-this'" in \
        unknown.stderr and unknown.stderr.count("\n") == 1


def test_version():
    shown = run_cli("--version")
    assert shown.returncode == 0 and shown.stdout.startswith("dindtui ")


def test_context_ls_with_none_says_how_to_make_them(docker_config):
    shown = run_cli("context", "ls")
    assert shown.returncode == 0 and "dindtui context sync" in shown.stdout
    assert json.loads(run_cli("context", "ls", "--json").stdout) == []
