"""Reading imported transactions back out of the Warehouse."""

from __future__ import annotations

import pandas as pd

from actors.analytics.errors import InsufficientDataError
from actors.analytics.ingest import validate_identifier
from storage.warehouse.base import Warehouse


async def table_exists(wh: Warehouse, table: str) -> bool:
    validate_identifier(table)
    result = await wh.query(f"EXISTS TABLE {table}")
    return bool(result.rows and result.rows[0][0])


async def load_transactions(wh: Warehouse, table: str) -> pd.DataFrame:
    """customer_id, timestamp, amount of every row of `table` (an import target)."""
    if not await table_exists(wh, table):
        raise InsufficientDataError(f"no transactions imported into {table!r} yet")
    frame = await wh.query_df(f"SELECT customer_id, ts AS timestamp, amount FROM {table}")
    if frame.empty:
        raise InsufficientDataError(f"table {table!r} has no transactions")
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame["amount"] = frame["amount"].astype(float)
    return frame
