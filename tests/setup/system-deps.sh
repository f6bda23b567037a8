#!/usr/bin/env bash
# Installs (Debian packages, where missing) and starts what the test suite needs:
# PostgreSQL with a `test` database reachable as postgres@127.0.0.1:5432 without a
# password, Redis on 127.0.0.1:6379, and the binaries the tests start themselves
# (influxd, tesseract, nginx, ocrmypdf). Safe to run again: it only does what is missing.
# With --run (what `make run` calls): only what running the suite needs - Tesseract with its
# English and OSD data - and no server is started.
set -euo pipefail
RUN_ONLY=""
if [ "${1:-}" = "--run" ]; then RUN_ONLY=1; fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

packages=()
command -v tesseract >/dev/null || packages+=(tesseract-ocr tesseract-ocr-eng)
ls /usr/share/tesseract-ocr/*/tessdata/osd.traineddata >/dev/null 2>&1 || packages+=(tesseract-ocr-osd)
if [ -z "$RUN_ONLY" ]; then
command -v pdftoppm >/dev/null || packages+=(poppler-utils)
command -v influxd >/dev/null || packages+=(influxdb)
command -v nginx >/dev/null || packages+=(nginx-light)
command -v promtool >/dev/null || packages+=(prometheus)  # promtool: tests/cluster alert rules
[ -x /usr/bin/chromium ] || packages+=(chromium)  # web e2e (frontend/web/e2e, playwright-core)
command -v npm >/dev/null || packages+=(nodejs npm)  # web build, Vitest, e2e driver
command -v ocrmypdf >/dev/null || packages+=(ocrmypdf)
command -v openssl >/dev/null || packages+=(openssl)
command -v psql >/dev/null || packages+=(postgresql-client)
# The servers' own binaries even where a server is already listening: the fault tests
# (tests/deployments/test_faults.py, test_store_failures.py) start private ones.
[ -n "$(pg_bin)" ] || packages+=(postgresql)
command -v redis-server >/dev/null || packages+=(redis-server)
fi

if [ ${#packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${packages[*]}"
  $SUDO apt-get update -qq
  # Packages start no services while installing (a port already served, e.g. 6379, would
  # fail a package's start): this script starts what the tests need below.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
  if [ -n "$policy" ]; then $SUDO rm -f "$policy"; fi
fi
if [ -n "$RUN_ONLY" ]; then exit 0; fi
# Debian enables and starts nginx on install; the tests run their own instances.
if command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
  $SUDO systemctl stop nginx || true
fi
# Only promtool is used from the prometheus package: no server left running.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl stop prometheus || true
fi

if ! listening 6379; then
  echo "starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --logfile "${TMPDIR:-/tmp}/armillary-redis.log"
fi

if ! listening 5432; then
  # A private cluster with trust authentication on loopback, for the tests only.
  bin="$(pg_bin)"
  data="${ARMILLARY_PGDATA:-${TMPDIR:-/tmp}/armillary-postgres}"
  run_as=()
  if [ "$(id -u)" = 0 ]; then run_as=(runuser -u postgres --); fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
    "${run_as[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  echo "starting PostgreSQL on 127.0.0.1:5432 (data in $data)"
  "${run_as[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p 5432 -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
fi
for _ in $(seq 1 30); do listening 5432 && break; sleep 1; done

if ! psql -h 127.0.0.1 -U postgres -d test -Atc "SELECT 1" >/dev/null 2>&1; then
  createdb -h 127.0.0.1 -U postgres test
fi
echo "test services ready: postgresql 127.0.0.1:5432/test, redis 127.0.0.1:6379"
