"""`armillary kube ...`: render / apply / status / scale of the KubeRay resources."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from cluster.kuberay.schema import KINDS, ManifestError


def add_parser(sub: Any) -> None:
    kube = sub.add_parser("kube", help="KubeRay manifests and resources").add_subparsers(
        dest="action", required=True)
    render = kube.add_parser(
        "render", help="print the validated manifests as YAML (kubectl apply -f -)")
    render.add_argument("--out", default="-", metavar="DIR",
                        help="write one file per manifest into DIR instead (default '-': "
                             "stdout, documents separated by ---)")

    def api_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--host", default=None,
                       help="API server URL (e.g. `kubectl proxy`'s http://127.0.0.1:8001); "
                            "default: kubeconfig or in-cluster")
        p.add_argument("--context", default=None, help="kubeconfig context")
        p.add_argument("--namespace", default=None, help="default: settings kube_namespace")
        return p

    apply = api_options(kube.add_parser("apply", help="create or replace resources"))
    apply.add_argument("files", nargs="*", type=Path,
                       help="manifest files (default: render from the settings now)")
    for name, text in (("status", "state of a resource"), ("scale", "resize a worker group")):
        p = api_options(kube.add_parser(name, help=text))
        if name == "scale":
            p.add_argument("group")
            p.add_argument("replicas", type=int)
            p.add_argument("--min", dest="min_replicas", type=int, default=None)
            p.add_argument("--max", dest="max_replicas", type=int, default=None)
        p.add_argument("--kind", choices=sorted(KINDS), default="RayService")
        p.add_argument("--name", default="armillary")


def run(args: argparse.Namespace, settings: Any) -> int:
    from cluster.kuberay.api import KubeError

    try:
        return _run(args, settings)
    except (KubeError, ManifestError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _load(files: list[Path]) -> list[dict[str, Any]]:
    manifests = []
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"manifest not found: {path}")
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict):
                raise ManifestError(f"{path}: not a manifest mapping")
            manifests.append(doc)
    return manifests


def _run(args: argparse.Namespace, settings: Any) -> int:
    from cluster.kuberay import render

    if args.action == "render":
        rendered = render.render_all(settings)
        if args.out == "-":
            sys.stdout.write(render.as_stream(rendered))
            return 0
        for path in render.write(rendered, Path(args.out)):
            print(path)
        return 0
    from cluster.kuberay.api import KubeRay, make_api

    kube = KubeRay(make_api(args.host, context=args.context),
                   args.namespace or settings.kube_namespace)
    if args.action == "apply":
        manifests = (_load(args.files) if args.files
                     else list(render.render_all(settings).values()))
        for manifest in manifests:
            outcome = kube.apply(manifest)
            print(f"{manifest['kind']}/{manifest['metadata']['name']}: {outcome}")
        return 0
    if args.action == "status":
        print(json.dumps(kube.status(args.kind, args.name), indent=2, default=str))
        return 0
    if args.action == "scale":
        result = kube.scale(args.kind, args.name, args.group, args.replicas,
                            args.min_replicas, args.max_replicas)
        print(json.dumps(result))
        return 0
    return 2
