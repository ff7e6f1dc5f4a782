"""The runner collects the metrics a notebook recorded from its executed outputs."""

from aehelpers import results
from aehelpers.course.runner import collect


def test_collect_reads_metric_outputs_last_value_wins():
    def out(entry):
        return {"output_type": "display_data", "data": {results.METRIC_MIME: entry, "text/plain": "x"}}

    a1 = {"name": "a", "value": 1.0, "goal": None, "unit": "", "passed": None}
    a2 = dict(a1, value=2.0)
    b = {"name": "b", "value": 3.0, "goal": "<= 5", "unit": "", "passed": True}
    nb = {"cells": [{"cell_type": "code", "outputs": [out(a1)]},
                    {"cell_type": "markdown"},
                    {"cell_type": "code", "outputs": [{"output_type": "stream", "text": "hi"}, out(b), out(a2)]}]}
    assert [(m["name"], m["value"]) for m in collect(nb)] == [("b", 3.0), ("a", 2.0)]
