#!/usr/bin/env bash
# Runs every test of Yikatong: the format check, clippy with warnings as errors, then all tests, each store
# and API test on SQLite and on PostgreSQL.
#
# PostgreSQL: YKT_TEST_PG (default postgres://postgres@127.0.0.1:5432/test, trust auth).
# When the default server is not running, this script starts the local cluster, or on a
# Debian machine where it runs as root, installs PostgreSQL and creates that database.
# Without a reachable PostgreSQL it stops with a message: tests are never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${YKT_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
export YKT_TEST_PG="$PG_URL"

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432 -t 2
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

start_local_postgres() {
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    local ver
    ver=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "test.sh: starting the local PostgreSQL $ver cluster"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing PostgreSQL from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    local ver
    ver=$(ls /etc/postgresql | sort -V | tail -n 1)
    sed -i -E 's/(scram-sha-256|md5|peer)$/trust/' /etc/postgresql/"$ver"/main/pg_hba.conf
    pg_ctlcluster --skip-systemctl-redirect "$ver" main restart || pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  if pg_up && command -v psql >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
      || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
  fi
}

if [ "$PG_URL" = "postgres://postgres@127.0.0.1:5432/test" ] && ! pg_up; then
  start_local_postgres
  if ! pg_up; then
    echo "test.sh: PostgreSQL is needed at 127.0.0.1:5432 (trust auth, database 'test') and is not running." >&2
    echo "          Install it (Debian: apt-get install postgresql), or point YKT_TEST_PG at a server." >&2
    exit 1
  fi
fi

# The portal's browser tests drive Debian's headless Chromium through chromedriver.
if ! command -v chromedriver >/dev/null 2>&1 || ! { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing chromium and chromium-driver from Debian's packages (the portal's browser tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
  fi
  if ! command -v chromedriver >/dev/null 2>&1; then
    echo "test.sh: the portal's browser tests need chromium and chromedriver (Debian: apt-get install chromium chromium-driver)." >&2
    exit 1
  fi
fi

# The card-event tests start their own JetStream servers (and a 3-node cluster) on
# loopback ports with Debian's nats-server; they never use a server already running.
if ! command -v nats-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing nats-server from Debian's packages (the card-event tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  fi
  if ! command -v nats-server >/dev/null 2>&1; then
    echo "test.sh: the card-event tests need nats-server (Debian: apt-get install nats-server)." >&2
    exit 1
  fi
fi

echo "test.sh: cargo fmt --check (rustfmt.toml)"
cargo fmt --all --check
echo "test.sh: clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The OpenAPI document against the service (validator, then 3 minutes of schemathesis).
echo "test.sh: cargo build -p ykt; scripts/schemathesis.sh"
cargo build -q -p ykt
bash scripts/schemathesis.sh

if cargo nextest --version >/dev/null 2>&1; then
  echo "test.sh: cargo nextest run --workspace"
  cargo nextest run --workspace --no-fail-fast
else
  echo "test.sh: cargo test --workspace (install cargo-nextest for faster runs)"
  cargo test --workspace --no-fail-fast
fi
