"""The teaching package is backend-agnostic: every one of its unit tests also passes on JAX.

The main `pytest` run uses the default backend (TensorFlow); this test re-runs ALL of
``tests/teaching/`` (no hand-kept list) in a subprocess with the other backend. CI installs JAX
(`pip install -e ".[jax]"`), and there a missing JAX is a failure, not a skip.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEACHING_TESTS = "tests/teaching"


@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_keras_unit_tests_pass_on_backend(backend):
    current = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend == current:
        pytest.skip(f"{backend} is this run's own backend: its tests ran directly")
    if importlib.util.find_spec(backend) is None:
        message = f"the {backend} backend is not installed: pip install -e \".[{'jax' if backend == 'jax' else 'tensorflow'}]\""
        if os.environ.get("CI"):
            pytest.fail("CI must run the helpers' tests on both backends; " + message)
        pytest.skip(message)
    env = {**os.environ, "KERAS_BACKEND": backend}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-o", "addopts=-p no:cacheprovider", TEACHING_TESTS],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-2000:]
    assert proc.returncode == 0, f"unit tests fail on {backend}:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert "passed" in tail and "failed" not in tail, tail
