"""Seeding, versions and package hygiene; also run on the JAX backend (test_backends.py)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aehelpers import utils

ROOT = Path(__file__).resolve().parents[2]


def test_set_seed_makes_numpy_and_keras_reproducible():
    import keras

    def draw():
        rng = utils.set_seed(7)
        layer = keras.layers.Dense(3)
        layer.build((None, 4))
        return (rng.random(3), np.random.rand(3), keras.ops.convert_to_numpy(layer.kernel),
                keras.ops.convert_to_numpy(keras.random.normal((2,))))

    for a, b in zip(draw(), draw()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_set_seed_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        utils.set_seed(seed)


def test_versions_report_the_active_backend():
    info = utils._versions()
    assert info["backend"] == os.environ.get("KERAS_BACKEND", "tensorflow")
    assert info[info["backend"]] and info["keras"].startswith("3.")


def test_setup_notebook_prints_one_version_line(capsys):
    utils.setup_notebook(seed=3)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "keras 3." in out[0] and "seed 3" in out[0]


def test_import_is_light_and_quiets_tensorflow():
    code = ("import os, sys; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None); import aehelpers; "
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], 'keras' in sys.modules, 'tensorflow' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert out == ["2", "False", "False"]
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"
    code = "import os, aehelpers; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout.strip() == "0"


def test_helpers_never_import_tensorflow():
    offenders = [p.name for p in (ROOT / "aehelpers").glob("*.py")
                 if "import tensorflow" in p.read_text() or "from tensorflow" in p.read_text()]
    assert offenders == [], f"aehelpers must stay backend-agnostic (keras, keras.ops, keras.random): {offenders}"
