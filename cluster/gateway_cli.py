"""`armillary gateway ...`: the dev certificate and the rendered nginx.conf."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from config.settings import Settings


def add_parser(sub: Any) -> None:
    gateway = sub.add_parser("gateway", help="the nginx gateway").add_subparsers(
        dest="action", required=True)
    cert = gateway.add_parser("cert", help="generate a self-signed development certificate")
    cert.add_argument("--out", type=Path, default=Path("var/gateway/tls"))
    cert.add_argument("--host", action="append", dest="hosts", default=None,
                      help="DNS name or IP (repeatable; default localhost, 127.0.0.1)")
    cert.add_argument("--days", type=int, default=30)
    render = gateway.add_parser("render", help="write PREFIX/nginx.conf from the template")
    render.add_argument("--prefix", type=Path, default=Path("var/gateway"))
    render.add_argument("--cert", type=Path, default=None, help="default PREFIX/tls/cert.pem")
    render.add_argument("--key", type=Path, default=None, help="default PREFIX/tls/key.pem")
    render.add_argument("--static-root", type=Path, default=None)
    render.add_argument("--upstream", default=None, help="host:port of Serve")
    render.add_argument("--container", action="store_true",
                        help="paths as config/compose.yaml mounts them (/gateway, /srv/web) "
                             "and upstream armillary:8000")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from cluster import gateway

    try:
        if args.action == "cert":
            if args.days < 1:
                raise ValueError("--days must be >= 1")
            out = args.out.resolve()
            gateway.make_dev_certificate(out / "cert.pem", out / "key.pem",
                                         tuple(args.hosts or ("localhost", "127.0.0.1")),
                                         args.days)
            print(f"{out / 'cert.pem'}\n{out / 'key.pem'}")
            return 0
        out = prefix = args.prefix.resolve()
        overrides: dict[str, object] = {}
        if args.container:
            prefix = Path("/gateway")
            overrides |= {"static_root": Path("/srv/web"), "upstream": "armillary:8000"}
        if args.static_root:
            overrides["static_root"] = args.static_root.resolve()
        if args.upstream:
            overrides["upstream"] = args.upstream
        config = gateway.from_settings(
            settings, prefix, (args.cert or prefix / "tls" / "cert.pem").resolve(),
            (args.key or prefix / "tls" / "key.pem").resolve(), **overrides)
        path = gateway.write(config, out)
        print(f"{path}\nrun: nginx -p {prefix} -c {prefix / 'nginx.conf'}")
        return 0
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
