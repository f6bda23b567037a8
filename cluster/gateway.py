"""The nginx gateway: render ``config/nginx/armillary.conf.template`` into a complete
nginx.conf, and make a self-signed development certificate.

The rendered file is a main nginx configuration (``nginx -p PREFIX -c FILE``): pid, logs
and temp paths all live under the chosen prefix, so it runs unprivileged or as root
without touching /var/lib/nginx.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from config.settings import Settings

TEMPLATE = Path(__file__).resolve().parents[1] / "config" / "nginx" / "armillary.conf.template"
STATIC_ROOT = Path(__file__).resolve().parents[1] / "frontend" / "web" / "dist"

# Vite's production build of a React app: its own scripts and styles (the CSS-in-JS of
# many component libraries needs inline styles), images/fonts from data: URLs, API and
# WebSocket calls to the same origin only, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' wss:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


@dataclass(frozen=True)
class GatewayConfig:
    prefix: Path
    """Where pid, logs and temp files go."""
    upstream: str
    """host:port of Serve's HTTP proxy."""
    cert_file: Path
    key_file: Path
    http_port: int = 8080
    https_port: int = 8443
    listen_host: str = "0.0.0.0"  # noqa: S104 - a gateway listens for the world
    server_name: str = "_"
    static_root: Path = STATIC_ROOT
    max_body: str = "25m"
    rate_per_second: int = 10
    burst: int = 20
    ws_connections: int = 20
    workers: int = 1
    mime_types: Path = Path("/etc/nginx/mime.types")
    run_as_root: bool = False
    """As root, nginx workers drop to `nobody` unless told otherwise; tests running as
    root with 0700 temp dirs set this so workers can read the prefix."""

    def __post_init__(self) -> None:
        for name in ("http_port", "https_port"):
            port = getattr(self, name)
            if not 0 < port < 65_536:
                raise ValueError(f"{name} must be a TCP port, got {port}")
        if ":" not in self.upstream:
            raise ValueError(f"upstream must be host:port, got {self.upstream!r}")
        if self.rate_per_second < 1 or self.burst < 0:
            raise ValueError("rate_per_second must be >= 1 and burst >= 0")


def from_settings(settings: Settings, prefix: Path, cert_file: Path, key_file: Path,
                  **overrides: object) -> GatewayConfig:
    """Gateway values that follow the suite's settings (ports, upstream, limits)."""
    upstream_host = "127.0.0.1" if settings.http_host in ("0.0.0.0", "") else settings.http_host  # noqa: S104
    values: dict[str, object] = {
        "prefix": prefix, "cert_file": cert_file, "key_file": key_file,
        "upstream": f"{upstream_host}:{settings.http_port}",
        "http_port": settings.gateway_http_port, "https_port": settings.gateway_https_port,
        "max_body": f"{max(1, settings.max_body_bytes // (1024 * 1024))}m",
        "rate_per_second": max(1, settings.rate_limit_per_minute // 60),
    }
    values.update(overrides)
    return GatewayConfig(**values)  # type: ignore[arg-type]


def render(config: GatewayConfig, template: Path = TEMPLATE) -> str:
    values = {k: str(v) for k, v in asdict(config).items()}
    values |= {
        "user_directive": "user root;" if config.run_as_root else "",
        "pid_file": str(config.prefix / "nginx.pid"),
        "error_log": str(config.prefix / "logs" / "error.log"),
        "access_log": str(config.prefix / "logs" / "access.log"),
        "temp_dir": str(config.prefix / "tmp"),
        "https_port_suffix": "" if config.https_port == 443 else f":{config.https_port}",
        "csp": CSP,
    }
    return Template(template.read_text()).substitute(values)


def write(config: GatewayConfig, out: Path | None = None, template: Path = TEMPLATE) -> Path:
    """Render into ``OUT/nginx.conf`` (OUT defaults to the prefix; differs when the file
    is mounted elsewhere, e.g. in a container), creating the log and temp directories."""
    out = config.prefix if out is None else out
    for sub in ("logs", "tmp"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    path = out / "nginx.conf"
    path.write_text(render(config, template))
    return path


def make_dev_certificate(cert_file: Path, key_file: Path, hosts: tuple[str, ...] = (
        "localhost", "127.0.0.1"), days: int = 30) -> None:
    """A self-signed certificate for development (never production), EC P-256."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Armillary dev")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
