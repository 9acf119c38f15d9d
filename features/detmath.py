"""CPU-independent elementary functions (identical bits on every machine).

numpy dispatches float64 ``log``/``log1p``/``exp``/... to SIMD code chosen at import time from the
CPU (AVX512 on x86_64), and glibc's libm picks FMA variants at load time: either way the last
bit of a result can depend on the machine. These use only IEEE-754 basic operations (+, -, *, /,
frexp), which are correctly rounded on every platform, in a fixed order (fdlibm's algorithm,
error < 1 ulp), so a feature computed with them is byte-identical on any x86_64 or aarch64.
"""

from __future__ import annotations

import numpy as np

_LN2_HI = 6.93147180369123816490e-01  # trailing zero bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_LG = (
    6.666666666666735130e-01,
    3.999999999940941908e-01,
    2.857142874366239149e-01,
    2.222219843214978396e-01,
    1.818357216161805012e-01,
    1.531383769920937332e-01,
    1.479819860511658591e-01,
)
_SQRT_HALF = 0.7071067811865476


_BLOCK = 1 << 16  # elements per block: temporaries stay in cache


def _blocked(fn, x) -> np.ndarray:
    """``fn`` over ``x`` in cache-sized blocks (the result does not depend on the blocking)."""
    x = np.asarray(x, dtype="float64")
    if x.size <= _BLOCK:
        return fn(x)
    flat = x.ravel()
    out = np.empty_like(flat)
    for i in range(0, flat.size, _BLOCK):
        out[i : i + _BLOCK] = fn(flat[i : i + _BLOCK])
    return out.reshape(x.shape)


def log1p(x) -> np.ndarray:
    """``log(1 + x)`` for float64, identical bits on every CPU (NaN below -1, -inf at -1)."""
    return _blocked(_log1p, x)


def log(x) -> np.ndarray:
    """Natural logarithm, identical bits on every CPU (as ``log1p(x - 1)``)."""
    return log1p(np.asarray(x, dtype="float64") - 1.0)


def _log1p(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        u = 1.0 + x
        # Rounding error of 1 + x, carried as log(u + c) ~ log(u) + c / u.
        c = np.where(u > 2.0, 1.0 - (u - x), x - (u - 1.0)) / u
        m, k = np.frexp(u)  # u = m * 2**k, m in [0.5, 1)
        low = m < _SQRT_HALF
        m = np.where(low, m * 2.0, m)
        dk = (k - low).astype("float64")
        f = m - 1.0
        s = f / (2.0 + f)
        z = s * s
        w = z * z
        t1 = w * (_LG[1] + w * (_LG[3] + w * _LG[5]))
        t2 = z * (_LG[0] + w * (_LG[2] + w * (_LG[4] + w * _LG[6])))
        hfsq = 0.5 * f * f
        out = dk * _LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + (dk * _LN2_LO + c))) - f)
        out = np.where(np.abs(x) < 2.0**-54, x, out)  # tiny (and +-0): log1p(x) == x
        out = np.where(
            np.isfinite(x) & (x > -1.0),
            out,
            np.where(x == -1.0, -np.inf, np.where(x == np.inf, np.inf, np.nan)),
        )
    return out


_INV_LN2 = 1.44269504088896338700e00
_P = (
    1.66666666666666019037e-01,
    -2.77777777770155933842e-03,
    6.61375632143793436117e-05,
    -1.65339022054652515390e-06,
    4.13813679705723846039e-08,
)


def exp(x) -> np.ndarray:
    """``e ** x`` for float64, identical bits on every CPU (fdlibm's algorithm, error < 1 ulp)."""
    return _blocked(_exp, x)


def _exp(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        xc = np.clip(x, -746.0, 710.0)  # beyond: 0 / inf after the scaling below
        k = np.rint(xc * _INV_LN2)
        hi = xc - k * _LN2_HI  # exact: k * _LN2_HI has trailing zero bits
        lo = k * _LN2_LO
        r = hi - lo
        t = r * r
        c = r - t * (_P[0] + t * (_P[1] + t * (_P[2] + t * (_P[3] + t * _P[4]))))
        y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
        # Scale in two exact steps so that no intermediate overflows or goes subnormal early.
        k1 = np.floor(k / 2.0)
        out = np.ldexp(np.ldexp(y, k1.astype("int64")), (k - k1).astype("int64"))
        out = np.where(np.isnan(x), np.nan, out)
    return out


def expit(z) -> np.ndarray:
    """Logistic ``1 / (1 + e ** -z)``, identical bits on every CPU."""
    return _blocked(lambda v: 1.0 / (1.0 + _exp(-v)), z)
