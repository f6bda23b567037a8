"""Batch OCR pages/s on a Ray cluster of 1, 2 and 3 nodes on this machine, against the ideal.

    .venv/bin/python benchmarks/cluster_scale.py [--quick] [--nodes 1 2 3]

Every node is a raylet of its own (`cluster.head`: the head on 127.0.0.1, workers on
127.0.0.2, 127.0.0.3), all sharing this machine's cores, so more nodes cannot add compute
here: the question is what spreading the work over nodes costs. The batch pool (the
``batch`` resource of `config.workloads`) is split so that the OCR actors spread: one node
holds 2 slots and runs 2 actors; with N > 1 nodes each holds one slot and runs one actor
(N actors). The ideal is ``xargs -P 2 tesseract`` on the same files, timed in the same run.
Each cluster runs one small warm-up batch first (Ray Data's first job pays its start-up);
the timed batch follows. The table gives pages/s, the ratio to the ideal, and the share of
pages each node OCRed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ocr_throughput import images, xargs_tesseract


def one(nodes: int, files: list[str]) -> dict[str, object]:
    """Start a cluster of ``nodes`` nodes, run the batch on it, stop it (by pid)."""
    from actors.ocr import OcrOptions, PreprocessOptions, Strategy
    from cluster.head import LocalHead
    from cluster.ports import free_port
    from config.workloads import node_resources
    from training.batch_ocr import run_batch
    from training.ray_connect import init_address, use_token

    options = OcrOptions(strategy=Strategy.SINGLE, preprocess=PreprocessOptions.none())
    head = LocalHead(temp_dir=Path(tempfile.mkdtemp(prefix="/tmp/arm-bench-")),
                     port=free_port(), dashboard_port=free_port(), num_cpus=2,
                     resources={**node_resources(1), "batch": 2.0 if nodes == 1 else 1.0})
    head.start()
    try:
        for _ in range(nodes - 1):
            head.add_worker(1, {**node_resources(1), "batch": 1.0})
        use_token(head.token)
        init_address(head.address)
        concurrency = 2 if nodes == 1 else nodes
        with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
            warm = Path(tmp) / "warm.txt"
            warm.write_text("\n".join(files[:concurrency]) + "\n")
            run_batch(warm, Path(tmp) / "warm", options=options, concurrency=concurrency,
                      progress_bar=False)
            listing = Path(tmp) / "files.txt"
            listing.write_text("\n".join(files) + "\n")
            summary = run_batch(listing, Path(tmp) / "out", options=options,
                                concurrency=concurrency, progress_bar=False)
    finally:
        import ray

        ray.shutdown()
        head.stop()
    return {"nodes": nodes, "actors": concurrency, "pages": summary.pages_done,
            "failed": summary.pages_failed, "seconds": summary.seconds,
            "by_node": summary.pages_by_node}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="16 images instead of all")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = [str(p) for p in images(16 if args.quick else None)]
    if not files:
        print("no images found under ../shared/data/ocr", file=sys.stderr)
        return 2
    if args.one is not None:
        print(json.dumps(one(args.one, files)))
        return 0
    ideal_s = xargs_tesseract([Path(f) for f in files], 2, words=True)
    rows = []
    for nodes in args.nodes:  # each cluster in a process of its own
        command = [sys.executable, __file__, "--one", str(nodes)] + (
            ["--quick"] if args.quick else [])
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    ideal = len(files) / ideal_s
    print(f"\nbatch OCR, {len(files)} images, plain Tesseract (SINGLE, no preprocessing); "
          f"ideal: xargs -P 2 tesseract (+tsv) {ideal_s:.1f} s = {ideal:.3f} pages/s\n")
    print("| nodes | actors | pages | seconds | pages/s | ratio to ideal | pages per node |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        pages = int(row["pages"])  # type: ignore[call-overload]
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        by_node = dict(row["by_node"])  # type: ignore[call-overload]
        share = ", ".join(f"{ip} {n / max(pages, 1):.0%}" for ip, n in sorted(by_node.items()))
        print(f"| {row['nodes']} | {row['actors']} | {pages} | {seconds:.1f} | "
              f"{pages / seconds:.3f} | {pages / seconds / ideal:.2f} | {share} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
