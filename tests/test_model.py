"""The TUI's model (dindtui/model.py) without Textual and without an engine: what a tree load,
a graft, an event, a selection, a disk report and the streams do to what the TUI shows."""

from __future__ import annotations

import copy

import pytest
from fake_engine import fixed_forest, fixed_report, fixed_tree

from dindtui.engine.explore.inside import ContainerRow
from dindtui.engine.tree import levels
from dindtui.engine import config
from dindtui.model import DISK_HISTORY, Model, paths, stopped_ancestor

pytestmark = pytest.mark.engine_free


def without(root: levels.Level, path: str) -> levels.Level:
    """A copy of the tree with the level at `path` (and what is below it) gone."""
    fresh = copy.deepcopy(root)
    gone = levels.find(fresh, path)
    assert gone.parent is not None
    gone.parent.children.remove(gone)
    return fresh


def test_a_load_says_whether_the_shape_changed():
    model = Model()
    assert model.load([fixed_tree()]) is True and model.loads == 1
    assert model.load([fixed_tree()]) is False  # the same levels: states may differ, not shape
    assert model.load([without(fixed_tree(), "l1/side")]) is True
    assert model.load(None) is True and model.roots is None and model.loads == 4
    assert not model.all_levels() and not model.has_levels() and model.selected_level() is None


def test_the_selection_moves_to_the_nearest_ancestor_when_its_level_goes():
    model = Model()
    model.load([fixed_tree()])
    model.select("l1/l2/l3")
    assert model.follow_selection() is None and model.selected_level().path == "l1/l2/l3"
    model.load([without(fixed_tree(), "l1/l2")])
    assert model.follow_selection() == "l1" and model.selected_path == "l1"
    model.load([fixed_tree(children=False)])
    assert model.follow_selection() == "" and model.selected_level().depth == 0


def test_a_subtree_read_again_is_grafted_in_place_or_dropped_when_it_no_longer_fits():
    model = Model()
    model.load([fixed_tree()])
    fresh = copy.deepcopy(levels.find(fixed_tree(), "l1/l2"))
    fresh.children = []                      # l3 exited meanwhile
    assert model.graft(fresh) is True
    assert [lv.path for lv in model.all_levels()] == ["", "l1", "l1/l2", "l1/side"]
    assert model.graft(copy.deepcopy(fresh)) is False  # the same again: no change of shape
    model.load([without(fixed_tree(), "l1/l2")])
    assert model.graft(fresh) is None        # its level is gone: nothing grafted
    assert "l1/l2" not in [lv.path for lv in model.all_levels()]


def test_several_engines_a_graft_goes_to_its_own_tree():
    model = Model()
    model.load(fixed_forest())
    deep = copy.deepcopy(levels.find_in(fixed_forest(), "10.0.0.7:2376/l1"))
    deep.children = []
    assert model.graft(deep) is True
    assert model.find("host/l1") is not None and model.find("10.0.0.7:2376/l1/deep").path \
        == "10.0.0.7:2376/l1"                # gone: its nearest ancestor


def test_streams_follow_the_ready_daemons_and_only_known_ones_change():
    model = Model()
    model.load([fixed_tree()])
    wanted = model.sync_streams()
    ready = {lv.endpoint for lv in fixed_tree().walk() if lv.state == "ready"}
    assert wanted == ready and set(model.streams.values()) == {"connecting"}
    l3 = levels.find(fixed_tree(), "l1/l2/l3").endpoint
    assert model.stream_state(l3, "live") is True and model.stream_state(l3, "live") is False
    assert model.stream_state("unix:///elsewhere.sock", "live") is False
    model.load([without(fixed_tree(), "l1/l2")])
    model.sync_streams()
    assert l3 not in model.streams and "unix:///elsewhere.sock" not in model.streams


def test_disk_history_keeps_each_live_level_s_sizes_bounded():
    model = Model()
    report = fixed_report()
    live = [v.level for v in report.volumes if v.state == "live" and v.level]
    assert live
    for n in range(DISK_HISTORY + 5):
        model.record_usage(report, float(n))
    assert model.report is report
    assert set(model.disk_history) == set(live)
    assert all(len(history) == DISK_HISTORY for history in model.disk_history.values())
    assert model.disk_history[live[0]][0][0] == 5.0  # the oldest readings went first


def test_the_sampler_reads_every_level_and_the_running_containers_of_the_selected_one():
    model = Model()
    model.load([fixed_tree()])
    targets = model.stats_targets()
    assert set(targets) == {"level:l1", "level:l1/l2", "level:l1/l2/l3"}  # side is dead
    model.select("l1/l2")
    model.shown_containers = [ContainerRow("aaaaaaaaaaaa", "web", "x", "running", "Up"),
                              ContainerRow("bbbbbbbbbbbb", "old", "x", "exited", "Exited")]
    targets = model.stats_targets()
    assert targets["l1/l2:aaaaaaaaaaaa"] == (levels.find(fixed_tree(), "l1/l2").endpoint,
                                             "aaaaaaaaaaaa")
    assert "l1/l2:bbbbbbbbbbbb" not in targets
    model.select("l1")  # another level: the containers shown were l1/l2's
    assert not [key for key in model.stats_targets() if not key.startswith("level:")]


def test_an_event_from_a_daemon_not_shown_changes_nothing():
    model = Model()
    assert model.apply_event("unix:///x.sock", {"type": "container", "action": "die"}) is None
    model.load([fixed_tree()])
    assert model.apply_event("unix:///x.sock", {"type": "container", "action": "die"}) is None
    l1 = levels.find(model.roots[0], "l1")
    applied = model.apply_event(l1.parent.endpoint, {
        "type": "container", "action": "die", "id": l1.container_id,
        "Actor": {"ID": l1.container_id, "Attributes": {levels.LABEL_NAME: "l1"}}})
    assert applied is not None


def test_a_stopped_level_keeps_the_levels_last_seen_inside_it_as_unreachable():
    model = Model()
    model.load([fixed_tree()])
    killed = fixed_tree()
    l2 = levels.find(killed, "l1/l2")
    l2.state, l2.endpoint, l2.children = levels.EXITED, None, []  # its daemon cannot list
    assert model.load([killed]) is False  # the same levels: nothing vanished
    l3 = model.find("l1/l2/l3")
    assert l3.path == "l1/l2/l3" and l3.state == levels.UNREACHABLE and l3.endpoint is None
    assert "inside l1/l2, which is exited: v on l1/l2 revives it" in l3.error
    assert stopped_ancestor(l3) is model.find("l1/l2") and stopped_ancestor(l2) is None
    assert "level:l1/l2/l3" not in model.stats_targets() and l3.endpoint not in \
        model.sync_streams()
    assert model.load([killed]) is False and model.find("l1/l2/l3").path == "l1/l2/l3"
    gone = without(fixed_tree(), "l1/l2")  # exited with its volume, or cleaned: all gone
    assert model.load([gone]) is True and model.find("l1/l2/l3").path == "l1"


def test_names_for_several_siblings_are_free_in_the_tree_and_in_order():
    from dindtui.engine.errors import DindtuiError, NameTaken
    from dindtui.engine.lifecycle.spawn import names_for
    from dindtui.engine.tree.place import Place

    root = fixed_tree()
    at = Place.of(levels.find(root, "l1"))
    assert names_for(at, 3) == ["l2-2", "l2-3", "l2-4"]  # l2 is taken in the tree
    assert names_for(at, 2, "web") == ["web-1", "web-2"]
    levels.find(root, "l1/side").name = "s-1"
    with pytest.raises(NameTaken):
        names_for(at, 2, "s")  # s-1 is taken: a --name base says so, never skips it
    with pytest.raises(DindtuiError):
        names_for(at, 1, "Bad Name")


def test_the_disk_walk_waits_longer_when_it_costs_more():
    """The TUI's periodic du walk takes at most USAGE_CPU_SHARE of one CPU on average: at 64
    levels and 1,000 containers a walk took 4 s of CPU, every 120 s that was 3.2 % idle."""
    from dindtui import app
    assert app.usage_interval(0.0) == app.USAGE_SECONDS
    assert app.usage_interval(0.3) == app.USAGE_SECONDS
    assert app.usage_interval(4.0) == pytest.approx(4.0 / app.USAGE_CPU_SHARE)
    assert 4.0 / app.usage_interval(4.0) <= app.USAGE_CPU_SHARE + 1e-9


def test_the_safety_net_poll_waits_longer_when_a_tree_read_costs_more():
    """The whole-tree poll under the event streams takes at most POLL_CPU_SHARE of one CPU on
    average, between every POLL_SECONDS and every POLL_MAX."""
    from dindtui import app
    assert app.poll_interval(0.0) == app.POLL_SECONDS
    assert app.poll_interval(0.075) == pytest.approx(0.075 / app.POLL_CPU_SHARE)
    assert 0.075 / app.poll_interval(0.075) <= app.POLL_CPU_SHARE + 1e-9
    assert app.poll_interval(10.0) == app.POLL_MAX


def test_a_die_event_keeps_the_levels_inside_as_unreachable_and_the_tree_s_shape():
    """A level's die event: it is shown exited at once and the levels inside it stay, marked
    unreachable, as a whole read keeps them — the tree's shape does not change (at 64 levels a
    rebuild of the tree's widget cost most of an event's 200 ms)."""
    model = Model()
    model.load([fixed_tree()])
    before = paths(model.roots)
    l2 = model.find("l1/l2")
    labels = {levels.LABEL_NAME: "l2", levels.LABEL_NAMESPACE: config.namespace()}
    applied = model.apply_event(l2.parent.endpoint, {
        "type": "container", "action": "die", "id": l2.container_id, "attributes": labels})
    assert applied is not None and applied.changed
    assert model.find("l1/l2").state == levels.EXITED
    l3 = model.find("l1/l2/l3")
    assert l3.path == "l1/l2/l3" and l3.state == levels.UNREACHABLE and l3.endpoint is None
    assert "inside l1/l2, which is exited" in l3.error
    assert paths(model.roots) == before
