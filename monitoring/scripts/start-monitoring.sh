#!/usr/bin/env bash
# Starts Prometheus and Grafana (monitoring/docker-compose.monitoring.yml) for
# a CodeRunner server on this machine, and prints where to find them.
#
#   monitoring/scripts/start-monitoring.sh          start (or update) the stack
#   monitoring/scripts/start-monitoring.sh down     stop it (data volumes are kept)
#
# Environment: CODERUNNER_URL (default http://localhost:8080) is only used
# to check that the server answers; GRAFANA_ADMIN_PASSWORD (default admin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compose_file="$here/docker-compose.monitoring.yml"
coderunner_url="${CODERUNNER_URL:-http://localhost:8080}"

die() { echo "error: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 ||
  die "docker is not installed. The monitoring stack needs Docker with the compose plugin
(https://docs.docker.com/engine/install/). Without Docker, run Prometheus directly:
  prometheus --config.file=$here/prometheus.yml   (Debian: apt-get install prometheus)"
docker info >/dev/null 2>&1 ||
  die "the Docker daemon is not reachable (is it running, and may this user use it?)"

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  die "neither 'docker compose' nor 'docker-compose' is available; install the Docker compose plugin"
fi

if [[ "${1:-up}" == "down" ]]; then
  "${compose[@]}" -f "$compose_file" down
  exit 0
fi
[[ "${1:-up}" == "up" ]] || die "usage: $0 [up|down]"

"${compose[@]}" -f "$compose_file" up -d

# The server is not required to start the stack, but say so if it is missing.
if command -v curl >/dev/null 2>&1; then
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$coderunner_url/metrics" || true)"
  case "$code" in
    200) ;;
    401|403) echo "note: $coderunner_url/metrics wants a token (CODERUNNER_METRICS_TOKEN); set 'authorization' in monitoring/prometheus.yml" >&2 ;;
    *) echo "note: no CodeRunner server answers at $coderunner_url/metrics yet (start one with 'make run'); Prometheus will scrape it once it is up" >&2 ;;
  esac
fi

# Wait (briefly) for both to answer, so the URLs below work when printed.
if command -v curl >/dev/null 2>&1; then
  for _ in $(seq 30); do
    curl -sf -o /dev/null --max-time 2 http://localhost:9090/-/ready &&
      curl -sf -o /dev/null --max-time 2 http://localhost:3000/api/health && break
    sleep 1
  done
fi

cat <<MSG

CodeRunner monitoring is up:
  Prometheus  http://localhost:9090          (targets: /targets, alerts: /alerts)
  Grafana     http://localhost:3000          (user admin, password ${GRAFANA_ADMIN_PASSWORD:-admin})
  Dashboard   http://localhost:3000/d/coderunner/coderunner
  Scraping    $coderunner_url/metrics

Stop with: $0 down
MSG
