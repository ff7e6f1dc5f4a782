"""The command line ``python -m aehelpers.course``: every command is there, each imports only what it
needs, and the cache and data commands hand over to their modules."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aehelpers.course import cli

COMMANDS = ("run", "profile", "sync-macros", "sync-slides", "sync-flow", "export", "diagrams", "data", "cache")
HEAVY = ("matplotlib", "nbconvert", "keras", "tensorflow", "jax")


def test_help_names_every_command(capsys):
    proc = subprocess.run([sys.executable, "-m", "aehelpers.course", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert all(f"    {name}" in proc.stdout for name in COMMANDS), proc.stdout
    for name in COMMANDS:
        with pytest.raises(SystemExit) as done:
            cli.main([name, "--help"])
        assert done.value.code == 0 and "usage: python -m aehelpers.course " + name in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["cache", "info"], ["sync-macros", "--check"], ["profile", "--results", "nowhere"]])
def test_a_command_imports_no_plotting_export_or_keras(argv, course_root, tmp_path):
    code = (f"import sys\nfrom aehelpers.course import cli\ncli.main({argv!r})\n"
            f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=course_root, capture_output=True, text=True,
                          env={**os.environ, "AEHELPERS_CACHE_DIR": str(tmp_path / "cache")})
    assert "LOADED []" in proc.stdout, proc.stdout + proc.stderr


def test_cache_info_and_clear_print_what_the_cache_module_says(monkeypatch, capsys):
    from aehelpers import _cache

    found = {"folder": Path("/tmp/weights"), "entries": 2, "bytes": 1_500_000}
    monkeypatch.setattr(cli, "cache_info", lambda: found)
    monkeypatch.setattr(cli, "cache_clear", lambda: found)
    monkeypatch.setattr(_cache, "enabled", lambda: False)
    assert cli.main(["cache", "info"]) == 0
    assert capsys.readouterr().out == ("weights cache: /tmp/weights\n2 entries, 1.5 MB\n"
                                       "(the cache is off here: CI, AEHELPERS_NO_CACHE or pytest)\n")
    monkeypatch.setattr(_cache, "enabled", lambda: True)
    assert cli.main(["cache", "info"]) == 0 and "off here" not in capsys.readouterr().out
    assert cli.main(["cache", "clear"]) == 0
    assert capsys.readouterr().out == "deleted 2 entries from /tmp/weights, freed 1.5 MB\n"
    with pytest.raises(SystemExit):
        cli.main(["cache", "empty"])


def test_data_hands_the_parsed_arguments_to_the_data_module(monkeypatch):
    from aehelpers.course import data

    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(data, "run", lambda args: seen.append(args) or 7)
    assert cli.main(["data", "verify", "--data-dir", "/somewhere"]) == 7
    assert cli.main(["data", "fetch", "--all"]) == 7
    assert (seen[0].action, seen[0].data_dir) == ("verify", "/somewhere") and (seen[1].action, seen[1].all) == ("fetch", True)


def test_run_status_lists_the_datasets_from_the_data_module(monkeypatch, course_root, capsys):
    """The runner's data line comes from ``aehelpers.course.data.status()`` (no list of its own)."""
    from aehelpers.course import data, runner

    monkeypatch.setattr(data, "status", lambda: {"only-this": "full"})
    monkeypatch.setattr(runner, "execute_notebook", lambda path, out, timeout: {
        "notebook": path.stem, "status": "ok", "wall_time_s": 1.0, "metrics": [], "error": None})
    (course_root / "notebooks" / "01_x.ipynb").write_text("{}")
    assert runner.run(course_root, course_root / "results") == 0
    assert "data: only-this full" in capsys.readouterr().out
    assert json.loads((course_root / "results" / "results.json").read_text())["data"] == {"only-this": "full"}
