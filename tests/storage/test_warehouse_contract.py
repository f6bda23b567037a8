"""Warehouse contract (ClickHouse SQL) on embedded chDB, in-process and actor-owned."""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd


async def test_create_insert_query(warehouse: Any) -> None:
    table = f"t_{uuid.uuid4().hex[:8]}"
    await warehouse.command(
        f"CREATE TABLE {table} (id UInt32, name String, amount Float64)"
        " ENGINE = MergeTree ORDER BY id"
    )
    rows = [[1, "a", 2.5], [2, "b", 4.0]]
    assert await warehouse.insert(table, rows, ["id", "name", "amount"]) == 2
    frame = pd.DataFrame({"id": [3], "name": ["c"], "amount": [1.0]})
    assert await warehouse.insert_df(table, frame) == 1
    result = await warehouse.query(
        f"SELECT name, amount FROM {table} WHERE amount >= {{lo:Float64}} ORDER BY id", {"lo": 2.0}
    )
    assert result.columns == ["name", "amount"]
    assert result.rows == [("a", 2.5), ("b", 4.0)]
    assert result.dicts()[0] == {"name": "a", "amount": 2.5}
    df = await warehouse.query_df(f"SELECT sum(amount) AS total FROM {table}")
    assert float(df["total"].iloc[0]) == 7.5


async def test_parameters_are_bound_not_spliced(warehouse: Any) -> None:
    result = await warehouse.query("SELECT {s:String} AS s", {"s": "x'; DROP TABLE y; --"})
    assert result.rows == [("x'; DROP TABLE y; --",)]


async def test_empty_inserts_are_noops(warehouse: Any) -> None:
    assert await warehouse.insert("does_not_matter", [], ["a"]) == 0
