"""The one settings object. Every value comes from ``ARMILLARY_*`` environment
variables or from an optional env-style file named by ``ARMILLARY_SETTINGS_FILE``
(default ``armillary.env`` in the working directory, if present).

Secrets fail fast: outside ``development`` and ``test`` a missing or default JWT
secret or admin password is a start-up error, not a warning.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AnyUrl, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.replicas import CRYPTO, INGRESS

# Store URLs are typed URLs; which schemes are valid is the storage registry's business
# (an unknown scheme fails at start-up with the list of valid ones).
StoreUrl = AnyUrl

REPO_ROOT = Path(__file__).resolve().parents[1]

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"  # noqa: S105 - a known default refused outside development
DEV_ADMIN_PASSWORD = "admin-dev-password"  # noqa: S105


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _settings_file() -> str | None:
    path = os.environ.get("ARMILLARY_SETTINGS_FILE", "armillary.env")
    return path if Path(path).is_file() else None


IN_REPLICA_SERVICES = frozenset({"echo"})
"""Services cheap enough to answer in the ingress process (``ingress_in_replica_services``)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARMILLARY_", extra="forbid", frozen=True, validate_default=True
    )

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("var")
    """Where embedded stores, artifacts and reports live."""

    # stores
    database_url: StoreUrl = AnyUrl("sqlite:///var/armillary.db")
    cache_url: StoreUrl = AnyUrl("memory://cache")
    eventbus_url: StoreUrl = AnyUrl("memory://events")
    timeseries_url: StoreUrl = AnyUrl("warehouse://timeseries")
    warehouse_url: StoreUrl = AnyUrl("chdb:///var/warehouse")
    store_timeout_s: float = Field(3.0, gt=0)
    audit_retry_s: float = Field(5.0, ge=0, le=60)
    """How long a mutation's response waits for the database to take its audit row before
    the row goes to the durable outbox (``<data_dir>/audit-outbox``) instead."""

    # auth
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "armillary"
    jwt_audience: str = "armillary-api"
    access_token_ttl_s: int = Field(900, gt=0, le=86_400)
    refresh_token_ttl_s: int = Field(14 * 86_400, gt=0)
    encryption_keys: SecretStr | None = None
    """Comma-separated Fernet keys for secret material at rest (API-key digests): the
    first encrypts, all decrypt (`armillary keys rotate` re-encrypts with the first).
    Required outside development and test; there a known dev key is used."""
    admin_username: str = "admin"
    admin_password: SecretStr = SecretStr(DEV_ADMIN_PASSWORD)
    metrics_token: SecretStr | None = None
    """Bearer token Prometheus presents to scrape ``/metrics`` (``Authorization: Bearer
    <token>``); admins' own credentials work too. None: admins only."""

    # limits
    rate_limit_per_minute: int = Field(600, gt=0)
    login_rate_limit_per_minute: int = Field(20, gt=0)
    rate_limit_block: int = Field(10, ge=1, le=1000)
    """Requests an ingress replica reserves from the caller's shared window at once
    (deployments/ingress/ratelimit.py): at most ``min(this, limit // 50)``, at least 1.
    Never more than the limit is admitted across replicas; a caller may be refused while
    up to ``block - 1`` reserved units sit unused in each other replica."""
    revocation_max_age_s: float = Field(1.0, ge=0, le=60)
    """Longest an ingress replica answers from its copy of the token revocation entries
    (deployments/ingress/revocation.py): a revoked token is refused by every replica
    within this bound even when the revocation's EventBus message is lost (usually at
    once). 0: the store is read on every request."""
    max_body_bytes: int = Field(25 * 1024 * 1024, gt=0)

    # Ray / Serve
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, gt=0, lt=65_536)
    ray_address: str | None = None
    """Connect to this Ray cluster (``host:port`` of its GCS) instead of starting one;
    ``ray_auth_token`` is its token. None: `armillary up` starts the suite's own cluster and
    every other command finds it through ``<data_dir>/ray/cluster.json``."""
    ray_auth_token: SecretStr | None = None
    """Token of the cluster at ``ray_address`` (Ray's token auth)."""
    ray_num_cpus: float = Field(2.0, gt=0)
    """Logical CPUs of the head node `armillary up` starts (the serving pool)."""
    ray_port: int = Field(0, ge=0, lt=65_536)
    """GCS port of that head; 0: a free one."""
    ray_temp_dir: Path | None = None
    """Ray's temp dir (sockets, logs) of that cluster; None: a new ``/tmp/arm-*`` per start."""
    ray_worker_nodes: int = Field(0, ge=0, le=8)
    """Worker nodes `armillary up` adds on this machine (raylets on 127.0.0.2, .3, ...)."""
    ray_worker_node_cpus: float = Field(1.0, gt=0)
    ray_head_batch: bool = True
    """The head node offers a batch pool too; false keeps batch work (OCR actors, Tune trials)
    on the worker nodes, away from the Serve controller, the proxy and the store owners."""
    serve_fallback_http_port: int = Field(0, ge=0, lt=65_536)
    """Serve's fallback proxy (HAProxy sends requests there while no ingress replica is
    up) and its gRPC twin; HAProxy's stats page and metrics port. 0: a free port at start,
    so two suites on one host never share one (Ray's defaults 8500/9500/8404/9101 would)."""
    serve_fallback_grpc_port: int = Field(0, ge=0, lt=65_536)
    haproxy_stats_port: int = Field(0, ge=0, lt=65_536)
    haproxy_metrics_port: int = Field(0, ge=0, lt=65_536)
    # Replica settings live in config/replicas.py (one table, config/serve.yaml generated
    # from it); these override its rows when `armillary up` deploys (defaults: the table's).
    ingress_num_cpus: float = Field(INGRESS.num_cpus, gt=0)
    ingress_min_replicas: int = Field(INGRESS.replicas("min"), ge=1)
    ingress_max_replicas: int = Field(INGRESS.replicas("max"), ge=1)
    ingress_max_ongoing_requests: int = Field(INGRESS.max_ongoing_requests, ge=1)
    ingress_upscale_delay_s: float | None = Field(None, ge=0, le=3600)
    """How long the Ingress's load must stay above target before Serve adds a replica
    (None: Serve's default, 30 s)."""
    ingress_downscale_delay_s: float | None = Field(None, ge=0, le=86_400)
    """How long it must stay below target before Serve removes one (None: Serve's, 600 s)."""
    ingress_in_replica_services: str = ""
    """Comma-separated services the ingress answers in its own process instead of through a
    handle to their deployment (only ``echo``, whose call costs less than the hop; see
    the ingress benchmark's ``--in-replica``). Empty: every call goes to its deployment."""
    fast_proxy: bool = True
    """Use Serve's HAProxy ingress mode (RAY_SERVE_ENABLE_HA_PROXY); set before Ray starts."""
    haproxy_maxconn: int = Field(4096, ge=64, le=1_000_000)
    """HAProxy's connection limit (Serve's RAY_SERVE_HAPROXY_MAXCONN)."""
    haproxy_timeout_client_s: int = Field(30, ge=1, le=3600)
    """How long a client may stay silent mid-request or mid-response (Serve's default is
    3600 s, which let idle connections pile up)."""
    haproxy_timeout_http_request_s: int = Field(5, ge=1, le=300)
    """Time to send a whole request head (slowloris); Serve sets none."""
    haproxy_drain_s: float = Field(1.0, gt=0, le=300)
    """On shutdown, how long Serve lets the HAProxy ingress tier drain before it stops the
    deployments behind it (Serve's RAY_SERVE_SHUTDOWN_TIER_TIMEOUT_S)."""
    serve_shutdown_timeout_s: float = Field(3.0, ge=0, le=120)
    """`armillary up` on its private cluster: how long Serve's graceful shutdown may take
    before the cluster's processes are ended (in-flight requests finish within it)."""
    ray_stop_grace_s: float = Field(2.0, ge=0, le=60)
    """Then how long the private cluster's processes get after SIGTERM before SIGKILL."""
    haproxy_max_conn_per_source: int = Field(256, ge=0, le=1_000_000)
    """Concurrent connections one client address may hold (0: no limit). Behind a load
    balancer that hides client addresses, raise it or set 0."""

    # cluster operations (`armillary job|kube|gateway`)
    ray_dashboard_url: str = "http://127.0.0.1:8265"
    """Ray job server (dashboard) of an external cluster (``ray_address``); `armillary up`
    serves its own on this URL's port, and commands find it in the cluster file."""
    kube_namespace: str = "armillary"
    kube_gcs_redis: str | None = "armillary-redis:6379"
    """Redis (host:port) the RayService's head keeps its GCS state in (KubeRay's GCS fault
    tolerance; password: RAY_REDIS_PASSWORD in the settings Secret); None: no GCS FT."""
    image: str = Field("armillary:0.1.0", min_length=1)
    """The suite's container image (cluster/image/Dockerfile): what `make image` tags, what
    config/compose.yaml runs (``${ARMILLARY_IMAGE:-...}``) and the KubeRay pods' image."""
    gateway_http_port: int = Field(8080, gt=0, lt=65_536)
    gateway_https_port: int = Field(8443, gt=0, lt=65_536)

    # the job system (storage/jobs): limits on queued + running jobs, checked at submit (429)
    job_user_max_active: int = Field(20, ge=1)
    """Jobs of every kind one user may have queued or running at the same time."""
    job_training_user_max_active: int = Field(1, ge=1)
    """Training jobs of one kind (analytics, crypto) one user may have queued or running."""
    job_training_max_active: int = Field(2, ge=1)
    """Training jobs of one kind queued or running at the same time, all users together."""
    job_reap_s: float = Field(30.0, gt=0)
    """How often every job worker looks for jobs orphaned by a restart (and at its start)."""

    # model registry
    model_keep_versions: int = Field(10, ge=1, le=10_000)
    """Versions of each model name kept when a new one is registered: the newest this many,
    plus the current and the pinned ones (`armillary models pin`); older rows are deleted."""

    # marketing analytics
    analytics_report_lease_s: float = Field(900.0, gt=0)
    """Lease of a claimed report task; an unacked task is redelivered after it."""
    analytics_worker_poll_s: float = Field(5.0, gt=0)
    analytics_training_data: Path | None = None
    """Training data folder; None: data/marketing in ``shared_dir``."""
    analytics_task_cpus: float = Field(0.5, gt=0)

    # document OCR
    ocr_sync_max_pages: int = Field(3, ge=1)
    """Uploads with more pages than this are processed as a job (202 + job id)."""
    ocr_max_pages: int = Field(200, ge=1)
    ocr_page_timeout_s: float = Field(120.0, gt=0)
    ocr_workers: int = Field(2, ge=1, le=32)
    """Pages OCRed at the same time per replica (threads; Tesseract with OMP_THREAD_LIMIT=1)."""
    ocr_keep_page_images: bool = True
    """Keep each page as decoded/rendered (PNG, a blob in the Database) for the web UI."""
    ocr_job_lease_s: float = Field(60.0, gt=0)
    """Lease of a claimed document job, renewed every third of it while the job runs: a
    job whose replica died is delivered to another one this long after."""
    ocr_job_max_attempts: int = Field(3, ge=1)
    """Deliveries of a document job (its worker died, or an unexpected error) before the
    job fails."""
    ocr_worker_jobs: int = Field(2, ge=1, le=32)
    """Document jobs one replica runs at the same time (their pages share ocr_workers)."""
    ocr_worker_poll_s: float = Field(1.0, gt=0)
    """How often an idle replica looks for a queued document job."""
    ocr_keep_uploads: bool = False
    """Keep an async upload's bytes after its job ended (default: deleted when the job
    succeeds or fails; kept while it is queued, running or waiting to be retried)."""
    ocr_document_pages_table: str = Field("ocr_document_pages", pattern=r"^[A-Za-z_]\w{0,63}$")
    ocr_pages_table: str = Field("ocr_pages", pattern=r"^[A-Za-z_]\w{0,63}$")
    """Warehouse tables: pages of uploaded documents; pages of batch runs."""

    # crypto price prediction
    shared_dir: Path | None = None
    """The read-only shared folder with real data; None: ../shared next to the repo."""
    crypto_interval: str = "1h"
    crypto_horizons: tuple[int, ...] = (1,)
    """Horizons (candles ahead) served; one registered model each. JSON list in the env."""
    crypto_max_model_age_s: float = Field(30 * 86_400.0, gt=0)
    """Predictions are refused (503) from a model registered longer ago than this."""
    crypto_refresh_s: float = Field(5.0, ge=0)
    """How often a replica re-checks the registry and the newest stored candle."""
    crypto_batching: bool = True
    crypto_max_batch_size: int = Field(32, ge=1, le=1024)
    crypto_batch_wait_s: float = Field(0.002, ge=0, le=1)
    crypto_cache_predictions: bool = True
    crypto_skill_min_improvement: float = Field(0.02, ge=0, lt=1)
    """The smallest MAE improvement over persistence the skill label calls skill (0.02: MASE
    <= 0.98, with a significant Diebold-Mariano test); a significant but smaller one is
    labelled "no demonstrated skill", a significantly larger MAE "worse"."""
    crypto_prediction_ttl_s: float = Field(7 * 86_400.0, gt=0)
    crypto_num_cpus: float = Field(CRYPTO.num_cpus, gt=0)
    """The Crypto replica's CPUs (default: config/replicas.py)."""
    crypto_ingress_cache_s: float = Field(1.0, ge=0)
    """The ingress may answer a repeated prediction request from memory for this long (0: off);
    the Crypto deployment's user_config decides (``ingress_cache_s``)."""
    crypto_bootstrap: bool = True
    """`armillary up`: train a first model in the background when none is registered, and
    start the market feed."""
    crypto_feed: str = Field("replay", pattern="^(replay|live|off)$")
    crypto_replay_speed: float = Field(360.0, gt=0)
    """Replay: seconds of market time per second (360: an hourly candle every 10 s)."""
    crypto_feed_exchange: str | None = None
    """ccxt exchange id for the live feed (e.g. binance); only used with crypto_feed=live."""
    crypto_feed_network: bool = False
    """The live feed may use the network (off by default: nothing leaves the machine)."""

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _secrets_are_real(self) -> Settings:
        if self.environment in (Environment.DEVELOPMENT, Environment.TEST):
            return self
        problems = []
        secret = self.jwt_secret.get_secret_value()
        if secret == DEV_JWT_SECRET or len(secret) < 32:
            problems.append("ARMILLARY_JWT_SECRET must be a random value of >= 32 characters")
        if self.admin_password.get_secret_value() in ("", DEV_ADMIN_PASSWORD):
            problems.append("ARMILLARY_ADMIN_PASSWORD must be set (the dev default is refused)")
        if self.encryption_keys is None or not self.encryption_keys.get_secret_value():
            problems.append("ARMILLARY_ENCRYPTION_KEYS must be set (Fernet keys, comma-"
                            "separated; make one with `armillary keys new`)")
        if problems:
            joined = "; ".join(problems)
            raise ValueError(f"insecure settings for {self.environment.value}: {joined}")
        return self

    @field_validator("ingress_in_replica_services")
    @classmethod
    def _in_replica_known(cls, value: str) -> str:
        names = {n.strip() for n in value.split(",") if n.strip()}
        if not names <= IN_REPLICA_SERVICES:
            allowed = ", ".join(sorted(IN_REPLICA_SERVICES))
            raise ValueError(f"only these services can run in the ingress: {allowed}")
        return ",".join(sorted(names))

    @property
    def shared_path(self) -> Path:
        """Where the real data is looked for: ``shared_dir``, else ../shared beside the repo."""
        return self.shared_dir or REPO_ROOT.parent / "shared"

    @property
    def marketing_data(self) -> Path:
        """The reference marketing sets: ``analytics_training_data``, else
        ``shared_path``/data/marketing."""
        return self.analytics_training_data or self.shared_path / "data" / "marketing"

    @property
    def in_replica_services(self) -> frozenset[str]:
        return frozenset(n for n in self.ingress_in_replica_services.split(",") if n)

    @model_validator(mode="after")
    def _replica_bounds(self) -> Settings:
        if self.ingress_max_replicas < self.ingress_min_replicas:
            raise ValueError("ingress_max_replicas must be >= ingress_min_replicas")
        return self

    def url(self, kind: str) -> str:
        """The configured URL of a store kind, with relative embedded paths anchored in
        `data_dir` (``sqlite:///var/x.db`` → ``sqlite:////abs/var/x.db``)."""
        raw = str(getattr(self, f"{kind}_url"))
        for scheme in ("sqlite", "chdb"):
            prefix = f"{scheme}:///"
            if raw.startswith(prefix) and not raw.startswith(prefix + "/"):
                relative = Path(raw[len(prefix):])
                if relative.parts and relative.parts[0] == "var":
                    relative = Path(*relative.parts[1:])
                return f"{prefix}{self.data_dir / relative}"
        return raw


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and the optional settings file."""
    return Settings(_env_file=_settings_file(), **overrides)


def random_secret() -> str:
    return secrets.token_urlsafe(48)
