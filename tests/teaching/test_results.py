import math
import time

import pytest

from aehelpers import results


@pytest.mark.parametrize("goal, expected", [("<= 5", ("<=", 5.0)), (">=22.5", (">=", 22.5)),
                                             ("< 1e-3", ("<", 0.001)), ("> -2", (">", -2.0))])
def test_parse_goal(goal, expected):
    assert results._parse_goal(goal) == expected


@pytest.mark.parametrize("goal", ["5", "=< 5", "<= five", "", None, "== 3"])
def test_parse_goal_rejects_malformed(goal):
    with pytest.raises(ValueError, match="goal must look like"):
        results._parse_goal(goal)


def test_record_evaluates_goal_and_prints(capsys):
    ok = results.record("angle_deg", 1.25, goal="<= 5", unit="°")
    bad = results.record("angle_deg2", 7, goal="<= 5")
    free = results.record("wall", 3.0)
    assert ok["passed"] is True and bad["passed"] is False and free["passed"] is None
    out = capsys.readouterr().out
    assert "✔ angle_deg = 1.25°" in out and "FAIL" in out


@pytest.mark.parametrize("name", ["Bad Name", "1abc", "", "x-y"])
def test_record_rejects_bad_names(name):
    with pytest.raises(ValueError, match="snake_case"):
        results.record(name, 1.0)


@pytest.mark.parametrize("value", [math.nan, math.inf, "abc", None])
def test_record_rejects_non_finite(value):
    with pytest.raises(ValueError, match="value must be"):
        results.record("m", value)


def test_check_raises_with_readable_message():
    assert results.check("mse_ratio", 0.6, "<= 0.75")["passed"]
    with pytest.raises(results.CheckFailed, match=r"mse_ratio = 0.8 does not meet the goal <= 0.75"):
        results.check("mse_ratio", 0.8, "<= 0.75")
    with pytest.raises(ValueError, match="goal must look like"):
        results.check("mse_ratio", 0.8, None)


def test_wall_time_needs_started_clock(monkeypatch):
    monkeypatch.setattr(results, "_START", None)
    with pytest.raises(ValueError, match="Setup cell"):
        results.record_wall_time()
    results._start_timer()
    entry = results.record_wall_time(goal="<= 90")
    assert entry["name"] == "wall_time_s" and 0 <= entry["value"] < 5 and entry["passed"]
    results._start_timer(at=time.perf_counter() - 100)  # e.g. when aehelpers was imported
    entry = results.record_wall_time(goal="<= 90")
    assert 100 <= entry["value"] < 105 and entry["passed"] is False


def test_records_do_not_echo_in_a_notebook():
    entry = results.record("echo_test", 1.0)
    assert isinstance(entry, dict) and entry._ipython_display_() is None


def test_wall_time_of_a_part_counts_from_the_previous_record(monkeypatch):
    results._start_timer(at=time.perf_counter() - 100)
    with pytest.raises(ValueError, match="previous record_wall_time"):
        results.record_wall_time(part="solutions")
    lesson = results.record_wall_time(goal="<= 90")
    monkeypatch.setattr(results, "_LAST_WALL", results._LAST_WALL - 12)  # the solutions took 12 s
    part = results.record_wall_time(goal="<= 30", part="solutions")
    assert lesson["value"] >= 100 and part["name"] == "solutions_wall_time_s"
    assert 12 <= part["value"] < 17 and part["passed"]


def test_the_solutions_part_also_records_the_notebook_total_against_the_budget(capsys):
    assert results.BUDGET_S == 85
    results._start_timer(at=time.perf_counter() - 50)
    results.record_wall_time()
    results.record_wall_time(part="solutions")
    out = capsys.readouterr().out
    assert "✔ total_wall_time_s = 50" in out and "goal <= 85s: pass" in out
    results._start_timer(at=time.perf_counter() - 200)
    results.record_wall_time()
    results.record_wall_time(part="solutions")
    out = capsys.readouterr().out
    assert "✘ total_wall_time_s = 200" in out and "goal <= 85s: FAIL" in out
