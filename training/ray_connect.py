"""Connect a driver to exactly one Ray cluster: the suite's own, named by its address and
authenticated with its token; never ``address="auto"`` (which joins whatever cluster this
host started last, another suite's included).

The order (:func:`connect`):

1. Ray is already initialised in this process: it is used as it is.
2. ``RAY_ADDRESS`` is set: this process is a Ray job's driver, and that is its cluster (the
   job server also hands the driver its token).
3. ``settings.ray_address``: an external cluster (KubeRay, a cluster of one's own), with
   ``settings.ray_auth_token``.
4. The running suite of this ``data_dir`` (``<data_dir>/ray/cluster.json``, written by
   `armillary up`), with the token beside it.
5. Otherwise, when allowed, a new private local instance for this process only, with the
   suite's resource model (a ``batch`` pool beside the CPUs).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from config.cluster_record import read_record, token_path
from config.settings import Settings
from config.workloads import node_resources

NAMESPACE = "armillary"
log = logging.getLogger("armillary.ray")


class ClusterNotFoundError(RuntimeError):
    """No cluster to join, and a local one was not allowed."""


@dataclass(frozen=True)
class Connection:
    kind: str
    """``existing``, ``job``, ``external``, ``suite`` or ``local``."""
    address: str | None

    @property
    def started_here(self) -> bool:
        """A local instance this process owns (shut it down when done)."""
        return self.kind == "local"


def use_token(token: str | None) -> None:
    """Authenticate this process's Ray client with ``token``. Ray reads the mode and the
    token from the environment into a process-wide cache the first time it looks (as early
    as ``import ray``), so the cache is refreshed here; call it before ``ray.init``."""
    if not token:
        return
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = token
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def find(settings: Settings) -> Connection | None:
    """Which cluster :func:`connect` would join (steps 2-4), without connecting."""
    if os.environ.get("RAY_ADDRESS"):
        return Connection("job", os.environ["RAY_ADDRESS"])
    if settings.ray_address:
        return Connection("external", settings.ray_address)
    record = read_record(settings.data_dir)
    if record is not None:
        return Connection("suite", record.address)
    return None


def init_local(num_cpus: float, *, verbose: bool = False) -> None:
    """A new private local Ray instance with the suite's resource model."""
    import ray

    cpus = int(num_cpus)
    ray.init(address="local", num_cpus=cpus, resources=node_resources(cpus),
             include_dashboard=False, namespace=NAMESPACE, **_driver_options(verbose))


def init_address(address: str, *, verbose: bool = False) -> None:
    """Join exactly the cluster at ``address`` (its token already in place)."""
    import ray

    ray.init(address=address, namespace=NAMESPACE, **_driver_options(verbose))


def _driver_options(verbose: bool) -> dict[str, Any]:
    """A quiet driver unless asked: no worker log lines, Ray's loggers at WARNING and its core
    (C++) logs at FATAL, which are read from the environment when Ray starts."""
    if not verbose:
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
        _quiet_node_messages()
        # "token authentication is enabled" on every start of a private local instance
        logging.getLogger("ray._private.authentication").setLevel(logging.ERROR)
    return {"log_to_driver": verbose,
            "logging_level": logging.INFO if verbose else logging.WARNING}


def _quiet_node_messages() -> None:
    """Keep the messages Ray broadcasts to every driver of the cluster (``(raylet)`` lines such
    as "N PYTHON worker processes have been started") out of a quiet driver's terminal: they
    go to this module's logger at DEBUG instead."""
    import ray._private.worker as ray_worker

    original = getattr(ray_worker, "print_to_stdstream", None)
    if original is None or getattr(original, "quiet", False):
        return

    def filtered(data: dict[str, Any], ignore_prefix: bool) -> None:
        if data.get("pid") == "raylet":
            log.debug("ray: %s", " ".join(map(str, data.get("lines", []))))
            return
        original(data, ignore_prefix)

    filtered.quiet = True  # type: ignore[attr-defined]
    ray_worker.print_to_stdstream = filtered


def connect(settings: Settings, *, allow_local: bool = True, local_cpus: float | None = None,
            verbose: bool = False) -> Connection:
    """Initialise Ray for this driver (see the module docstring); returns what it joined.
    Raises :class:`ClusterNotFoundError` when nothing is found and ``allow_local`` is off."""
    import ray

    if ray.is_initialized():
        return Connection("existing", None)
    target = find(settings)
    if target is None:
        if not allow_local:
            raise ClusterNotFoundError(
                f"no running suite for data_dir {settings.data_dir} (start it with "
                "`armillary up`) and no ARMILLARY_RAY_ADDRESS set")
        init_local(local_cpus or settings.ray_num_cpus, verbose=verbose)
        return Connection("local", None)
    if target.kind == "external" and settings.ray_auth_token is not None:
        use_token(settings.ray_auth_token.get_secret_value())
    elif target.kind == "suite":  # find() read the record: its token lies beside it
        use_token(token_path(settings.data_dir).read_text().strip())
    init_address(str(target.address), verbose=verbose)
    return target
