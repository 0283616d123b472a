#!/usr/bin/env bash
# Install everything and run the checks and the whole test suite, on SQLite and on PostgreSQL.
# Usage: scripts/test.sh [pytest args...]
# PostgreSQL: LVYUE_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) is used to
# create a throw-away database. Under CI (CI=true) PostgreSQL is required; elsewhere the
# PostgreSQL run is skipped with a warning when no server can be reached or started.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"

echo "== lint: ruff, import contracts, mypy"
.venv/bin/ruff check src tests bench
.venv/bin/lint-imports --no-cache
.venv/bin/mypy

bench_smoke() {  # the benchmarks at a small size: their invariants, not their speed
  local db_args=("$@")
  .venv/bin/python bench/pipeline.py --orders 2000 "${db_args[@]/#/--db=}"
  .venv/bin/python bench/pipeline.py --orders 2000 --two-pass --no-floor "${db_args[@]/#/--db=}"
  .venv/bin/python bench/contention.py --processes 3 --orders 100 "${db_args[@]/#/--db=}"
  .venv/bin/python bench/crash.py --kills 3 --round 300 "${db_args[@]/#/--db=}"
}
echo "== benchmarks (small) on SQLite"
bench_smoke
echo "== tests on SQLite"
.venv/bin/python -m pytest "$@"

PG_URL=${LVYUE_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
pg_up() { .venv/bin/python - "$PG_URL" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(exc, file=sys.stderr); sys.exit(1)
PY
}
if ! pg_up 2>/dev/null && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 20); do pg_up 2>/dev/null && break; sleep 0.5; done
fi
if ! pg_up; then
  if [ "${CI:-}" = "true" ]; then echo "PostgreSQL is required under CI" >&2; exit 1; fi
  echo "WARNING: PostgreSQL not reachable at $PG_URL: PostgreSQL run skipped" >&2
  exit 0
fi
DB="lvyue_test_$$_$RANDOM"
TEST_URL=$(.venv/bin/python - "$PG_URL" "$DB" <<'PY'
import sys, psycopg
from sqlalchemy import make_url
url, db = make_url(sys.argv[1]), sys.argv[2]
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(f'CREATE DATABASE "{db}"')
print(url.set(database=db).render_as_string(hide_password=False))
PY
)
drop_db() {
  .venv/bin/python - "$PG_URL" "$DB" <<'PY' || true
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
PY
}
trap drop_db EXIT
echo "== benchmarks (small) on PostgreSQL"
PG_BASE=$(.venv/bin/python -c "import sys; from sqlalchemy import make_url; print(make_url(sys.argv[1]).set(database='lvyue_bench_ci').render_as_string(hide_password=False))" "$PG_URL")
bench_smoke "$PG_BASE"
echo "== tests on PostgreSQL"
LVYUE_TEST_DATABASE_URL="$TEST_URL" .venv/bin/python -m pytest "$@"
