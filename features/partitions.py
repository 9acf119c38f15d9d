"""Hash buckets of an id: every record of one applicant falls in the same bucket of every table.

The hash is pandas' SipHash-2-4 of the id's text with pandas' fixed key
(``pandas.util.hash_array``): the same on every machine, every process and every run (unlike
Python's ``hash()``, which is salted per process). Buckets let a table of any size be read,
validated and featurised one bucket at a time, on one machine or on many.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_BUCKETS = 4096


def bucket_of(ids: pd.Series | np.ndarray, n_buckets: int) -> np.ndarray:
    """The bucket (0 .. ``n_buckets`` - 1) of each id; a missing id falls in bucket 0.

    Ids are hashed as text, so ``"A0000001"`` read from a CSV or from Parquet lands in the same
    bucket; surrounding blanks are ignored (validation strips them too)."""
    if not 1 <= n_buckets <= MAX_BUCKETS:
        raise ValueError(f"n_buckets must be between 1 and {MAX_BUCKETS}; got {n_buckets}")
    values = pd.Series(ids, copy=False)
    if n_buckets == 1 or values.empty:
        return np.zeros(len(values), dtype=np.int64)
    missing = values.isna().to_numpy()
    text = values.astype("str").str.strip().to_numpy(dtype=object, na_value="")
    text[missing] = ""
    hashed = pd.util.hash_array(text, categorize=True)
    buckets = (hashed % np.uint64(n_buckets)).astype(np.int64)
    buckets[missing] = 0
    return buckets
