"""Nothing failing is committed (issue 22): no committed notebook output and no README table shows a
failed check, an error or a missed goal. A notebook over its time budget is made faster, not committed red."""
from __future__ import annotations

import json
import re

from aehelpers.course import nbfiles
from aehelpers.results import METRIC_MIME


def failures_in_notebook(nb: dict) -> list[str]:
    """Every recorded metric that missed its goal, and every error output, of one notebook."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"cell {i} ({cell.get('id')}): {out.get('ename')}: {out.get('evalue')}")
            record = out.get("data", {}).get(METRIC_MIME)
            if record and record.get("passed") is False:
                found.append(f"cell {i} ({cell.get('id')}): {record['name']} = {record['value']:.4g} misses {record['goal']}")
    return found


def failures_in_readme(text: str) -> list[str]:
    """Table rows of the README that show a failed check (✘)."""
    return [line for line in text.splitlines() if line.startswith("|") and re.search(r"\|\s*✘", line)]


def test_no_committed_notebook_shows_a_failed_check_or_an_error(repo_root):
    problems = {p.name: failures_in_notebook(json.loads(p.read_text(encoding="utf-8")))
                for p in nbfiles.notebook_paths(repo_root)}
    problems = {name: found for name, found in problems.items() if found}
    assert not problems, ("committed notebooks show failures; make them pass (faster, or a true claim), re-run "
                          f"`python -m aehelpers.course run --inplace`, then `sync-flow`: {json.dumps(problems, indent=1)}")


def test_the_readme_shows_no_failed_check(repo_root):
    rows = failures_in_readme((repo_root / "README.md").read_text(encoding="utf-8"))
    assert not rows, "README shows failed checks:\n" + "\n".join(rows)


def test_the_failure_finders_find_failures():
    failing = {"cells": [{"id": "a", "outputs": [
        {"output_type": "display_data", "data": {METRIC_MIME: {"name": "total_wall_time_s", "value": 120.0,
                                                               "goal": "<= 85", "passed": False}}},
        {"output_type": "error", "ename": "CheckFailed", "evalue": "Check failed: x"}]},
        {"id": "b", "outputs": [{"output_type": "display_data",
                                 "data": {METRIC_MIME: {"name": "ok", "value": 1.0, "goal": "<= 2", "passed": True}}}]}]}
    found = failures_in_notebook(failing)
    assert len(found) == 2 and "total_wall_time_s = 120 misses <= 85" in found[0] and "CheckFailed" in found[1]
    assert failures_in_readme("| 06 | 332 s | `wall_time_s` | 306.5s | <= 300s | ✘ |\n| a | ✔ |") == [
        "| 06 | 332 s | `wall_time_s` | 306.5s | <= 300s | ✘ |"]
