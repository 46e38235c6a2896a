# shellcheck shell=bash
# Start a throw-away lab MAAS emulator on 127.0.0.1 for an integration target, and stop it on exit.
# Source it, then call `start_maas_emulator [gough-lab maas serve options...]`. It exports MAAS_URL,
# MAAS_API_KEY and MAAS_LAB (the emulator's root, for /_lab/ endpoints), and sets EMULATOR_STATE.
# No `set -x` in callers: it would print the API key into the test log.

EMULATOR_STATE="$(mktemp -d)"
emulator_pid=""

stop_maas_emulator() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
        emulator_pid=""
    fi
    rm -rf "$EMULATOR_STATE"
}
trap stop_maas_emulator EXIT

start_maas_emulator() {
    gough-lab maas serve --listen 127.0.0.1:0 --state "$EMULATOR_STATE" "$@" >"$EMULATOR_STATE/emulator.log" 2>&1 &
    emulator_pid=$!
    # The emulator writes api_key first and url once it listens.
    for _ in $(seq 1 300); do
        [ -s "$EMULATOR_STATE/url" ] && break
        if ! kill -0 "$emulator_pid" 2>/dev/null; then
            echo "MAAS emulator exited early:" >&2
            cat "$EMULATOR_STATE/emulator.log" >&2
            return 1
        fi
        sleep 0.1
    done
    if [ ! -s "$EMULATOR_STATE/url" ]; then
        echo "MAAS emulator did not start within 30 seconds" >&2
        return 1
    fi
    MAAS_URL="$(cat "$EMULATOR_STATE/url")"
    MAAS_API_KEY="$(cat "$EMULATOR_STATE/api_key")"
    MAAS_LAB="${MAAS_URL%/MAAS}"
    export MAAS_URL MAAS_API_KEY MAAS_LAB
}

# lab_stat KEY: one number from the emulator's GET /_lab/stats (for example `writes`).
lab_stat() {
    python -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/_lab/stats"))[sys.argv[2]])' \
        "$MAAS_LAB" "$1"
}

# lab_reset_stats: zero the emulator's request counters.
lab_reset_stats() {
    python -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_lab/stats", method="DELETE"))' \
        "$MAAS_LAB"
}

# controller_inventory: the inventory ansible-test provides, or an equivalent one outside it.
controller_inventory() {
    if [ -n "${INVENTORY_PATH:-}" ]; then
        echo "$INVENTORY_PATH"
    else
        printf 'testhost ansible_connection=local ansible_python_interpreter=%s\n' "$(command -v python)" \
            >"$EMULATOR_STATE/inventory"
        echo "$EMULATOR_STATE/inventory"
    fi
}
