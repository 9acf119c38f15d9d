"""CPU-independent maths: within an ulp or two of numpy, and the same bits whatever SIMD
path numpy takes (AVX512 switched off in a subprocess emulates another machine)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from features import detmath

FLOATS = st.floats(min_value=-0.999, max_value=1e12, allow_nan=False)


@given(st.lists(FLOATS, min_size=1, max_size=50))
def test_log1p_is_within_two_ulp_of_libm(values):
    x = np.array(values)
    ours = detmath.log1p(x)
    ref = np.array([math.log1p(v) for v in values])
    assert np.all(np.abs(ours - ref) <= 2 * np.spacing(np.abs(ref)) + 1e-300)


@given(st.lists(st.floats(min_value=-700, max_value=700), min_size=1, max_size=50))
def test_exp_is_within_two_ulp_of_libm(values):
    x = np.array(values)
    ref = np.array([math.exp(v) for v in values])
    assert np.all(np.abs(detmath.exp(x) - ref) <= 2 * np.spacing(ref))


def test_special_values():
    np.testing.assert_array_equal(detmath.log1p([0.0, -1.0, np.inf]), [0.0, -np.inf, np.inf])
    assert np.isnan(detmath.log1p([-2.0, np.nan])).all()
    np.testing.assert_array_equal(detmath.exp([0.0, -np.inf, 1000.0]), [1.0, 0.0, np.inf])
    np.testing.assert_array_equal(detmath.expit([0.0]), [0.5])


def test_blocked_evaluation_equals_one_pass():
    x = np.random.default_rng(0).normal(0, 5, 200_000)
    np.testing.assert_array_equal(detmath.exp(x)[:1000], detmath.exp(x[:1000]))


SCRIPT = """
import hashlib, numpy as np
from features import detmath
x = np.random.default_rng(1).lognormal(10, 3, 300_000)
out = np.concatenate([detmath.log1p(x), detmath.expit(np.log(x) - 10), detmath.exp(-x / 1e6)])
print(hashlib.sha256(out.tobytes()).hexdigest(), hashlib.sha256(np.log1p(x).tobytes()).hexdigest())
"""


def test_same_bits_with_and_without_avx512():
    def run(env_extra: dict) -> list[str]:
        env = {**os.environ, **env_extra}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True
        )
        return out.stdout.split()

    native = run({})
    emulated = run({"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"})
    assert native[0] == emulated[0]  # ours: identical whatever numpy dispatches to
    cpu = Path("/proc/cpuinfo")
    if cpu.is_file() and "avx512f" in cpu.read_text():  # numpy's own log1p differs: the cause
        assert native[1] != emulated[1]
