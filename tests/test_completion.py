"""Shell completion, driven through bash's own completion function (engine-free: the candidates
that need an engine come from the fake one), and level paths from the real engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from fake_engine import FakeEngine

from dindtui import completion
from dindtui.cli import build_parser

PARSER = build_parser()

BIN = os.path.dirname(sys.executable)


def complete_in_bash(line: str) -> list[str]:
    """What bash's completion function of `dindtui completion bash` offers for `line` (the
    cursor at its end), run as a user's shell would, with the real `dindtui` on PATH."""
    script = subprocess.run([sys.executable, "-m", "dindtui", "completion", "bash"],
                            capture_output=True, text=True, check=True).stdout
    words = line.split(" ")
    program = (f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
               f"COMP_CWORD={len(words) - 1}\n_dindtui\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]})
    assert done.returncode == 0, done.stderr
    return [item for item in done.stdout.splitlines() if item]


@pytest.mark.engine_free
@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_commands_options_and_choices():
    assert complete_in_bash("dindtui sp") == ["spawn"]
    assert "collapse" in complete_in_bash("dindtui c") and "clean" in complete_in_bash("dindtui c")
    assert complete_in_bash("dindtui spawn --st") == ["--store", "--strategy"]
    assert complete_in_bash("dindtui spawn --store ") == ["overlay2", "containerd"]
    assert complete_in_bash("dindtui completion ") == ["bash", "zsh", "fish"]
    assert complete_in_bash("dindtui image b") == ["build"]


@pytest.mark.engine_free
def test_levels_and_containers_come_from_the_trees_of_the_command_line_s_engines():
    asked: list[list[tuple[str, str]]] = []

    def engine(engines):
        asked.append(engines)
        return FakeEngine()

    levels = completion.candidates(["-H", "tcp://10.0.0.7:2376", "shell", "l1/l"], PARSER,
                                  engine)
    assert levels == ["l1/l2", "l1/l2/l3"]
    assert asked == [[("--host", "tcp://10.0.0.7:2376")]]
    assert completion.candidates(["logs", "l1/l2/l3", ""], PARSER, engine) == ["job", "web"]
    assert completion.candidates(["shell", "l1/l2/l3", "-c", "w"], PARSER, engine) == ["web"]
    assert completion.candidates(["exec", ""], PARSER, lambda e: 1 / 0) == []  # no engine: nothing


def test_bash_completes_level_paths_from_the_real_engine(tree):
    made = tree.spawn(short="tab").level
    assert made.path in complete_in_bash(f"dindtui exec {made.path[:-1]}")
    assert complete_in_bash("dindtui exec ho") == ["host"]


def complete_in_zsh(line: str) -> list[str]:
    """What the function of `dindtui completion zsh` offers for `line`, run by zsh with the
    words and cursor its completion system would set, and `compadd` printing what it gets."""
    script = subprocess.run([sys.executable, "-m", "dindtui", "completion", "zsh"],
                            capture_output=True, text=True, check=True).stdout
    words = line.split(" ")
    program = ("compadd() { [[ $1 == -Q ]] && shift; [[ $1 == -- ]] && shift; "
               "print -rl -- \"$@\"; }\n" + script +
               f"\nwords=({' '.join(repr(w) for w in words)})\nCURRENT={len(words)}\n_dindtui\n")
    done = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True,
                          timeout=60,
                          env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]})
    assert done.returncode == 0, done.stderr
    return [item for item in done.stdout.splitlines() if item]


def complete_in_fish(line: str) -> list[str]:
    """What fish itself completes for `line` (`complete -C`) with the script of `dindtui
    completion fish` loaded."""
    script = subprocess.run([sys.executable, "-m", "dindtui", "completion", "fish"],
                            capture_output=True, text=True, check=True).stdout
    done = subprocess.run(["fish", "--no-config", "-c", script + f"\ncomplete -C {line!r}\n"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]})
    assert done.returncode == 0, done.stderr
    return [item.split("\t")[0] for item in done.stdout.splitlines() if item]


@pytest.mark.engine_free
@pytest.mark.skipif(shutil.which("zsh") is None, reason="no zsh (./quickstart.sh test installs it)")
def test_zsh_completes_commands_options_and_choices():
    assert complete_in_zsh("dindtui sp") == ["spawn"]
    assert complete_in_zsh("dindtui spawn --st") == ["--store", "--strategy"]
    assert complete_in_zsh("dindtui spawn --store ") == ["overlay2", "containerd"]
    assert sorted(complete_in_zsh("dindtui pool ")) == ["drain", "fill", "ls"]


@pytest.mark.engine_free
@pytest.mark.skipif(shutil.which("fish") is None,
                    reason="no fish (./quickstart.sh test installs it)")
def test_fish_completes_commands_options_and_choices():
    assert complete_in_fish("dindtui sp") == ["spawn"]
    assert complete_in_fish("dindtui spawn --st") == ["--store", "--strategy"]
    # (fish sorts what it offers)
    assert complete_in_fish("dindtui spawn --store ") == ["containerd", "overlay2"]
    assert complete_in_fish("dindtui completion ") == ["bash", "fish", "zsh"]
