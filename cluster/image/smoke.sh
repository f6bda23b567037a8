#!/usr/bin/env bash
# Build the suite's image and check it runs: `cluster/image/smoke.sh` from anywhere.
# Needs a Docker engine (not part of `make test`: CI has none). Prints each step with its time.
#
# Checks: the build; `armillary --help`, `ray --version`, tesseract's languages, non-root user,
# `ray` on PATH in a login shell (KubeRay runs `bash -lc`); `armillary up` on the embedded stores
# answers /health (and the image's HEALTHCHECK turns healthy), serves the web app at `/`, and
# stops cleanly on SIGTERM; a KubeRay-style head (`ulimit -n 65536; ray start --head ... --block`)
# passes KubeRay's exec probes (wget on the raylet and GCS health routes).
#
# Environment:
#   IMAGE         tag to build (default: the settings' image, ARMILLARY_IMAGE)
#   BASE          base image (default: the Dockerfile's python:3.11-slim-bookworm); with
#                 BASE=debootstrap a Debian bookworm base is made locally with debootstrap
#                 (root; no registry needed) and used for both stages
#   NODE_BASE     base of the web build stage (default: the Dockerfile's; BASE=debootstrap: same)
#   EXTRA_CA_CERT a CA certificate (PEM) added to the debootstrap base: HTTPS through a
#                 TLS-inspecting proxy
#   PORT          host port for the suite's HTTP (default 18000)
#   SUITE_ENV     extra `KEY=VALUE ...` for the `armillary up` container
#   KEEP=1        leave the test containers (default: removed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
IMAGE="${IMAGE:-$("$PY" -c 'from config.settings import load_settings; print(load_settings().image)')}"
PORT="${PORT:-18000}"
NAME="armillary-smoke-$$"
T0=$SECONDS

step() { printf '\n== [%4ss] %s\n' "$((SECONDS - T0))" "$*"; }
fail() { printf 'SMOKE FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() {
  if [ "${KEEP:-0}" != 1 ]; then
    docker rm -f "$NAME-up" "$NAME-head" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

step "docker engine"
docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' \
  || fail "no Docker engine reachable (start dockerd, or set DOCKER_HOST)"

build_args=()
if [ "${BASE:-}" = debootstrap ]; then
  BASE=armillary-base:bookworm
  if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    step "base image $BASE from debootstrap (Debian bookworm, minbase)"
    command -v debootstrap >/dev/null || fail "debootstrap missing (apt-get install debootstrap)"
    rootfs="$(mktemp -d)/rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    if [ -n "${EXTRA_CA_CERT:-}" ]; then
      install -D -m 0644 "$EXTRA_CA_CERT" "$rootfs/usr/local/share/ca-certificates/extra-ca.crt"
    fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE"
    rm -rf "$(dirname "$rootfs")"
  fi
  NODE_BASE="${NODE_BASE:-$BASE}"
fi
[ -n "${BASE:-}" ] && build_args+=(--build-arg "BASE=$BASE")
[ -n "${NODE_BASE:-}" ] && build_args+=(--build-arg "NODE_BASE=$NODE_BASE")

step "build $IMAGE ${build_args[*]:-}"
t=$SECONDS
docker build "${build_args[@]}" -f cluster/image/Dockerfile -t "$IMAGE" .
echo "build: $((SECONDS - t)) s; size: $(docker image inspect -f '{{.Size}}' "$IMAGE" \
  | awk '{printf "%.2f GB", $1 / 1e9}')"

run() { docker run --rm "$IMAGE" "$@"; }
step "commands in the image"
run armillary --help | head -3
run ray --version
run tesseract --list-langs 2>&1 | tr '\n' ' '; echo
uid="$(run id -u)"; echo "uid: $uid"; [ "$uid" != 0 ] || fail "runs as root"
run /bin/bash -lc -- 'command -v ray python wget && python --version'
run python -c 'import cv2, pytesseract, chdb, tensorflow as tf, deployments.app, training.batch_ocr; \
print("imports ok; tensorflow", tf.__version__)'
run python -c 'from deployments.ingress.web import web_app; assert web_app() is not None; print("web app found")'

step "armillary up (embedded stores) on 127.0.0.1:$PORT ${SUITE_ENV:-}"
t=$SECONDS
suite_env=()
for kv in ${SUITE_ENV:-}; do suite_env+=(-e "$kv"); done
docker run -d --name "$NAME-up" --shm-size 1g -p "127.0.0.1:$PORT:8000" "${suite_env[@]}" \
  "$IMAGE" >/dev/null
health=""
inside_only=0
for _ in $(seq 1 180); do
  if health="$(curl -fsS "http://127.0.0.1:$PORT/health" 2>/dev/null)"; then break; fi
  health=""
  docker inspect -f '{{.State.Running}}' "$NAME-up" | grep -q true \
    || { docker logs "$NAME-up" 2>&1 | tail -40; fail "the suite exited"; }
  if docker exec "$NAME-up" wget -q -T 2 -O- http://127.0.0.1:8000/health >/dev/null 2>&1; then
    inside_only=$((inside_only + 1))
    if [ "$inside_only" -ge 15 ]; then
      echo "inside the container: GET 127.0.0.1:8000/health answers; listening TCP sockets:"
      docker exec "$NAME-up" awk 'NR > 1 && $4 == "0A" {print "  " $2}' /proc/net/tcp \
        | grep -i ':1F40$' || true   # 1F40 = 8000; 0100007F = 127.0.0.1, 00000000 = any
      fail "the suite answers inside the container but not on the published port"
    fi
  fi
  sleep 2
done
[ -n "$health" ] || { docker logs "$NAME-up" 2>&1 | tail -40; fail "no /health answer"; }
echo "GET /health after $((SECONDS - t)) s: $health"
echo "GET /ready: $(curl -sS "http://127.0.0.1:$PORT/ready")"
curl -fsS "http://127.0.0.1:$PORT/" | grep -q '<div id="root">' \
  || fail "/ does not serve the web app"
echo "GET /: the web app's index.html"
token="$(curl -fsS -X POST "http://127.0.0.1:$PORT/api/v1/auth/token" \
  -d 'username=admin&password=admin-dev-password' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
echo "login as admin: token of ${#token} characters"
state=""
for _ in $(seq 1 60); do
  state="$(docker inspect -f '{{.State.Health.Status}}' "$NAME-up")"
  [ "$state" = healthy ] && break
  sleep 5
done
echo "HEALTHCHECK: $state"; [ "$state" = healthy ] || fail "HEALTHCHECK is $state"
t=$SECONDS
docker stop -t 60 "$NAME-up" >/dev/null
echo "docker stop: $((SECONDS - t)) s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$NAME-up")"
docker logs "$NAME-up" 2>&1 | grep -E 'serving on|shutting down' || true

step "KubeRay-style head: bash -lc 'ulimit -n 65536; ray start --head ... --block'"
docker run -d --name "$NAME-head" --shm-size 1g -e RAY_AUTH_MODE=token \
  -e RAY_AUTH_TOKEN="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  --entrypoint /bin/bash "$IMAGE" -lc -- \
  'ulimit -n 65536; ray start --head --num-cpus=0 --dashboard-host=0.0.0.0 --metrics-export-port=8080 --block' \
  >/dev/null
probe='wget -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success && wget -T 10 -q -O- http://localhost:8265/api/gcs_healthz | grep success'
ok=""
for _ in $(seq 1 60); do
  if docker exec "$NAME-head" bash -c "$probe" >/dev/null 2>&1; then ok=1; break; fi
  sleep 2
done
[ -n "$ok" ] || { docker logs "$NAME-head" 2>&1 | tail -30; fail "KubeRay probes never passed"; }
docker exec "$NAME-head" bash -c "$probe"
docker exec "$NAME-head" ray status 2>&1 | head -12 || true

step "smoke passed in $((SECONDS - T0)) s"
