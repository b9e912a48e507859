"""Several engines as level 0 (`--host`/`--context` given several times): how each is named,
where its levels' socket directories live, and how a path finds its tree. Pure functions, no
engine: the behaviour behind them is tested against real engines in test_remote.py."""

from __future__ import annotations

import os

import pytest

from dindtui.engine.net import connect
from dindtui.engine.tree import discovery, levels, place
from dindtui.engine import order
from dindtui.engine.errors import DindtuiError, UnknownLevel
from dindtui.engine.tree.levels import Level

pytestmark = pytest.mark.engine_free  # the fast layer: no Docker engine


def test_each_engine_is_named_by_its_context_or_address_never_with_a_slash():
    made = connect.origins_for([("--host", "unix:///var/run/docker.sock"),
                                ("--host", "tcp://10.0.0.7:2376"),
                                ("--host", "ssh://ops@ci.example:2222"),
                                ("--host", "unix:///run/user/1000/docker.sock"),
                                ("--host", "unix:///srv/other/docker.sock")])
    assert [o.label for o in made] == ["host", "10.0.0.7:2376", "ops@ci.example:2222",
                                       "unix:docker.sock", "unix:docker.sock#2"]
    assert all(o.from_env and o.context is None for o in made)
    assert connect.origin_of("tcp://10.0.0.7:2376") is None  # known once an Engine has it
    connect.know(made)
    assert connect.origin_of("tcp://10.0.0.7:2376") is made[1]
    assert connect.origin_of("tcp://10.0.0.7:2377") is None


def test_the_default_context_is_the_docker_cli_s_own_engine(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    made = connect.origins_for([("--context", "default"), ("--host", "tcp://10.0.0.7:2376")])
    assert (made[0].endpoint, made[0].label) == ("unix:///var/run/docker.sock", "default")


def test_an_engine_given_twice_or_an_unknown_context_is_one_clear_error(tmp_path, monkeypatch):
    with pytest.raises(DindtuiError, match="given twice"):
        connect.origins_for([("--host", "tcp://a:1"), ("--host", "tcp://a:1")])
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    with pytest.raises(DindtuiError, match="no docker context named 'nope'"):
        connect.origins_for([("--host", "tcp://a:1"), ("--context", "nope")])
    assert connect.origins_for([]) == [connect.default_origin()]  # none given: the default


def test_two_local_engines_never_share_a_socket_directory(monkeypatch):
    monkeypatch.delenv("DINDTUI_NAMESPACE", raising=False)
    default = connect.level_tree_root("unix:///var/run/docker.sock")
    assert default == os.path.join(connect.STATE_DIR, "c")
    assert connect.level_tree_root("unix:///run/docker.sock") == default  # /var/run -> /run
    other = connect.level_tree_root("unix:///srv/other/docker.sock")
    assert other.startswith(os.path.join(connect.STATE_DIR, "e") + "/") and other != default
    assert other == connect.level_tree_root("unix:///srv/other/docker.sock")
    # A remote engine's directory is on its own machine: the path is the default one there.
    assert connect.level_tree_root("tcp://10.0.0.7:2376") == default
    monkeypatch.setenv("DINDTUI_NAMESPACE", "ns1")
    assert connect.level_tree_root("unix:///srv/other/docker.sock") == os.path.join(
        os.path.dirname(other), "ns", "ns1", "c")


def forest() -> list[Level]:
    host = Level("host", "host", 0, "ready", "unix:///var/run/docker.sock")
    l1 = Level("l1", "host/l1", 1, "ready", "unix:///x/l1.sock", port=40123, parent=host)
    host.children = [l1]
    far = Level("127.0.0.1:40123", "127.0.0.1:40123", 0, "ready", "tcp://127.0.0.1:40123")
    r1 = Level("r1", "127.0.0.1:40123/r1", 1, "ready", "unix:///t/r1.sock", parent=far)
    r2 = Level("l1", "127.0.0.1:40123/r1/l1", 2, "ready", "unix:///t/r2.sock", parent=r1)
    far.children, r1.children = [r1], [r2]
    return [host, far]


def test_a_path_finds_its_level_in_the_tree_its_engine_names():
    host, far = roots = forest()
    assert levels.find_in(roots, "127.0.0.1:40123/r1/l1") is far.children[0].children[0]
    assert levels.find_in(roots, "host/l1") is host.children[0]
    assert levels.find_in(roots, "127.0.0.1:40123") is far
    assert levels.root_for(roots, "127.0.0.1:40123/r1") is far
    with pytest.raises(UnknownLevel, match="begins with its engine"):
        levels.find_in(roots, "l1")  # a bare name: which engine?
    # Inside its engine's tree, a level's path is the one its labels and contexts use.
    assert far.children[0].children[0].tree_path == "r1/l1" and far.tree_path == ""
    # One engine: paths are the tree's own, as ever.
    only = forest()[0]
    only.path, only.children[0].path = "", "l1"
    assert levels.find_in([only], "l1") is only.children[0]


def test_an_engine_published_by_a_level_of_another_tree_is_known_as_held_by_it():
    host, far = roots = forest()
    assert discovery.held_by(far, roots) is host.children[0]
    assert discovery.held_by(host, roots) is None
    far.endpoint = "tcp://10.0.0.7:40123"  # another machine: not a level of ours
    assert discovery.held_by(far, roots) is None
    assert place.is_remote(far.children[0]) and not place.is_remote(host.children[0])
    far.endpoint = "unix:///x/l1.sock"  # a level's own socket (eval "$(dindtui env l1)")
    assert discovery.held_by(far, roots) is host.children[0]
    far.endpoint = f"unix://{connect.STATE_DIR}/c/l1/docker.sock"
    assert place.is_remote(far.children[0])  # its daemon lives in a container


def test_serve_gives_every_browser_tab_the_same_engines(monkeypatch, tmp_path):
    """`dindtui -H A --context B serve`: each tab's app is started with both engines, in the
    order given; one engine too (nothing travels in the environment)."""
    import shlex

    from dindtui import cli, serve
    seen = {}
    monkeypatch.setattr(serve, "serve", lambda *args, **kw: seen.update(kw) or 0)
    monkeypatch.setattr(connect, "origins_for", lambda engines: seen.update(origins=engines)
                        or [connect.Origin("tcp://10.0.0.7:2376")])
    assert cli.main(["-H", "tcp://10.0.0.7:2376", "--context", "ci", "serve"]) == 0
    assert seen["origins"] == [("--host", "tcp://10.0.0.7:2376"), ("--context", "ci")]
    command = shlex.split(serve.app_command(seen["engines"], animation=False))
    assert command[1:] == ["-m", "dindtui", "--host", "tcp://10.0.0.7:2376", "--context", "ci",
                           "--no-animation"]
    # --all-contexts: the engines it adds reach the tabs too (here, the default one).
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert cli.main(["-H", "tcp://10.0.0.7:2376", "--all-contexts", "serve"]) == 0
    assert seen["engines"] == ["--host", "tcp://10.0.0.7:2376",
                               "--host", "unix:///var/run/docker.sock"]
    assert cli.main(["-H", "tcp://10.0.0.9:2376", "serve"]) == 0
    assert seen["engines"] == ["--host", "tcp://10.0.0.9:2376"]


def test_names_sort_naturally_and_paths_in_tree_order():
    names = ["w10", "w2", "w1", "a", "w1b", "1a", "a1"]
    assert sorted(names, key=order.natural) == ["1a", "a", "a1", "w1", "w1b", "w2", "w10"]
    paths = ["l1-4", "l1/l2", "l10", "l1", "l2", "l1/l10", "l1/l2/x"]
    assert sorted(paths, key=order.tree_order) == ["l1", "l1/l2", "l1/l2/x", "l1/l10", "l1-4",
                                                     "l2", "l10"]


def test_an_empty_level_name_is_refused_in_one_line(capsys):
    from dindtui import cli
    assert cli.main(["spawn", "--name", ""]) == 2
    error = capsys.readouterr().err
    assert "--name is empty" in error and error.count("\n") == 1
