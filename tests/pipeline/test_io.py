"""Reading ahead: the same items in the same order, errors where they happened."""

from __future__ import annotations

import threading

import pytest

from features.errors import DataError
from pipeline.io import read_ahead


def test_items_come_in_order_and_are_produced_off_the_calling_thread():
    producers = set()

    def items():
        for i in range(50):
            producers.add(threading.get_ident())
            yield i

    assert list(read_ahead(items())) == list(range(50))
    assert threading.get_ident() not in producers


def test_an_error_while_reading_reaches_the_caller_after_the_good_items():
    def items():
        yield 1
        yield 2
        raise DataError("features.parquet: not a readable Parquet file")

    got = []
    with pytest.raises(DataError, match="not a readable"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_an_empty_input_gives_nothing():
    assert list(read_ahead(iter(()))) == []
