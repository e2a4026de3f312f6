# Shared by .ci/run and bench/run: install and start the servers the tests and benchmarks need.
# Requires root (apt-get); sets TEST_POSTGRES_URL and TEST_REDIS_URL.

log() { echo "[ci] $*" >&2; }
fail() { log "$*"; [ "${CI:-}" = true ] && echo "0 passed, 1 failed"; exit 1; }

# install_packages PACKAGE...: installs the Debian packages among these whose program is missing.
install_packages() {
  local missing=()
  for package in "$@"; do
    case "$package" in
      postgresql) command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql) ;;
      redis-server) command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) ;;
      chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
      wrk) command -v wrk >/dev/null 2>&1 || missing+=(wrk) ;;
      nginx-light) [ -x /usr/sbin/nginx ] || missing+=(nginx-light) ;;
      *) missing+=("$package") ;;
    esac
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    apt-get update -qq >&2 || fail "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || fail "apt-get install ${missing[*]} failed"
  fi
}

wait_for_postgres() {
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 1
  done
  pg_isready -h 127.0.0.1 -p 5432 -q || fail "PostgreSQL did not start"
}

start_postgres() {
  local version
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  [ -n "$version" ] || fail "PostgreSQL is not installed"
  if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
    pg_createcluster "$version" main >&2 || fail "could not create a PostgreSQL $version cluster"
  fi
  pg_ctlcluster "$version" main start >&2 2>/dev/null || true
  wait_for_postgres
  runuser -u postgres -- psql -q -c "ALTER USER postgres PASSWORD 'postgres';" >&2 || fail "could not set the postgres password"
  # The suite runs test classes in parallel, each with its own service (two pools) on its own database: Debian's
  # default of 100 connections is met at its busiest moments ("too many clients already").
  if [ "$(runuser -u postgres -- psql -Atq -c 'SHOW max_connections')" -lt 400 ]; then
    runuser -u postgres -- psql -q -c "ALTER SYSTEM SET max_connections = 400;" >&2 || fail "could not raise max_connections"
    pg_ctlcluster "$version" main restart >&2 || fail "PostgreSQL did not restart"
    wait_for_postgres
  fi
  export TEST_POSTGRES_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
  log "PostgreSQL $version is up"
}

start_redis() {
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >&2 || fail "redis-server did not start"
  fi
  for _ in $(seq 1 20); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.5
  done
  redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || fail "Redis did not start"
  export TEST_REDIS_URL="redis://127.0.0.1:6379"
  log "Redis is up"
}

