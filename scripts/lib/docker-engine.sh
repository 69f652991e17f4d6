#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, installing and starting one if needed.
#
# Our machines and CI have no container registry and no init system managing dockerd, so we
# run the Debian engine ourselves with no bridge network: every sandbox runs with
# `--network none` (see shared/design/docker-offline.md). Idempotent: an engine that already
# answers is left alone, installed packages are not reinstalled.
#
# Use either way:
#   bash scripts/lib/docker-engine.sh          # exits non-zero on failure
#   source scripts/lib/docker-engine.sh        # returns non-zero on failure (aborts a `set -e` caller)
#
# Tunables (environment, read only when this runs):
#   CERTPLATFORM_DOCKERD_LOG     log file of a dockerd started here (default /var/log/certplatform-dockerd.log)
#   CERTPLATFORM_DOCKERD_WAIT_S  seconds to wait for `docker info` (default 60)

certplatform_docker_engine() {
    local log="${CERTPLATFORM_DOCKERD_LOG:-/var/log/certplatform-dockerd.log}"
    local wait_s="${CERTPLATFORM_DOCKERD_WAIT_S:-60}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo -n"
        else
            echo "docker-engine: not root and no sudo; cannot install or start dockerd" >&2
            return 1
        fi
    fi

    # Packages: docker.io brings dockerd, containerd and runc; debootstrap builds the base image.
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "docker-engine: installing ${missing[*]}" >&2
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || return 1
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            "${missing[@]}" >&2 || return 1
    fi

    # The machine may carry a newer CLI than the Debian engine (28.x vs 20.10); any CLI works
    # because the client negotiates the API version, so prefer whatever is first on PATH.
    local docker_cli
    docker_cli="$(command -v docker || echo /usr/bin/docker)"

    if $sudo "$docker_cli" info >/dev/null 2>&1; then
        echo "docker-engine: engine already answering" >&2
        return 0
    fi

    # A dockerd killed hard leaves its pid file behind and a new one then refuses to start;
    # remove it only when no process owns it.
    local pidfile=/var/run/docker.pid
    if [ -f "$pidfile" ]; then
        local oldpid
        oldpid="$(cat "$pidfile" 2>/dev/null || true)"
        if [ -z "$oldpid" ] || ! kill -0 "$oldpid" 2>/dev/null; then
            $sudo rm -f "$pidfile"
        fi
    fi

    local start_ns dockerd_pid
    start_ns="$(date +%s%N)"
    $sudo mkdir -p "$(dirname "$log")"
    # setsid + nohup: the engine must outlive this script and the CI step that called it,
    # and must not hold the caller's stdout open.
    $sudo setsid nohup dockerd --iptables=false --ip6tables=false --bridge=none \
        </dev/null >"$log" 2>&1 &
    dockerd_pid=$!
    echo "docker-engine: started dockerd (log $log)" >&2

    local deadline=$((SECONDS + wait_s))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if $sudo "$docker_cli" info >/dev/null 2>&1; then
            local ms=$((($(date +%s%N) - start_ns) / 1000000))
            echo "docker-engine: engine answering after ${ms} ms" >&2
            return 0
        fi
        # Stop waiting early once dockerd has died. setsid forks when the caller runs us as a
        # process-group leader, so $! may be gone while dockerd lives: ask pgrep as well.
        if ! kill -0 "$dockerd_pid" 2>/dev/null && command -v pgrep >/dev/null 2>&1 \
            && ! pgrep -x dockerd >/dev/null 2>&1; then
            break
        fi
        sleep 0.5
    done

    echo "docker-engine: no engine answered within ${wait_s} s" >&2
    echo "docker-engine: errors from $log:" >&2
    grep -E 'level=(fatal|error)|^failed|[Ee]rror' "$log" 2>/dev/null | tail -n 10 >&2 || true
    echo "docker-engine: last lines of $log:" >&2
    tail -n 20 "$log" >&2 2>/dev/null || true
    return 1
}

# Sourced: return the status to the caller. Executed: exit with it.
if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    certplatform_docker_engine
    return $?
else
    set -euo pipefail
    certplatform_docker_engine
fi
