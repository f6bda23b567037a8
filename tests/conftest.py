from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Tesseract's own threading is slower than one thread per process on this machine.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from storage.registry import open_backend
from storage.warehouse.base import Warehouse
from tests import services
from tests.support import missing


@pytest.fixture(scope="session")
def influx_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real InfluxDB (Debian's influxd) for this test session."""
    try:
        with services.influxdb(tmp_path_factory.mktemp("influxdb")) as url:
            yield url
    except FileNotFoundError as exc:
        missing(str(exc))


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local Ray instance for the whole session. Workers
    inherit this environment, so Serve replicas read test settings from it."""
    import ray

    os.environ["ARMILLARY_ENVIRONMENT"] = "test"
    os.environ["ARMILLARY_DATA_DIR"] = str(tmp_path_factory.mktemp("armillary-data"))
    if not ray.is_initialized():
        # Logical CPUs are bookkeeping: 4 leaves room for the Serve tests' extra apps next
        # to the session's Serve app; batch work takes the suite's batch pool
        # (config.workloads) of a 2-core node, as under `armillary up`.
        from config.workloads import node_resources

        ray.init(num_cpus=4, resources=node_resources(2), include_dashboard=False,
                 namespace="armillary-tests", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def chdb_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    """The one embedded chDB warehouse of this process (chDB allows one path per process);
    it connects on first use. Tests sharing it use their own table names."""
    path: Path = tmp_path_factory.mktemp("chdb")
    warehouse: Warehouse = open_backend("warehouse", f"chdb://{path}")
    yield warehouse
    asyncio.run(warehouse.close())


def postgres_url() -> str:
    return services.POSTGRES_URL


def redis_url() -> str:
    return services.REDIS_URL
