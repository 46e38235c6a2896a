#!/usr/bin/env bash
# Run maas_server_info against a throw-away lab MAAS emulator on 127.0.0.1.
# No `set -x`: it would print the API key into the test log.
set -eu

state="$(mktemp -d)"
emulator_pid=""
cleanup() {
    if [ -n "$emulator_pid" ]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$state"
}
trap cleanup EXIT

gough-lab maas serve --listen 127.0.0.1:0 --state "$state" >"$state/emulator.log" 2>&1 &
emulator_pid=$!

# The emulator writes api_key first and url once it listens.
for _ in $(seq 1 300); do
    [ -s "$state/url" ] && break
    if ! kill -0 "$emulator_pid" 2>/dev/null; then
        echo "MAAS emulator exited early:" >&2
        cat "$state/emulator.log" >&2
        exit 1
    fi
    sleep 0.1
done
if [ ! -s "$state/url" ]; then
    echo "MAAS emulator did not start within 30 seconds" >&2
    exit 1
fi

MAAS_URL="$(cat "$state/url")"
MAAS_API_KEY="$(cat "$state/api_key")"
export MAAS_URL MAAS_API_KEY

# A port nothing listens on, for the unreachable case.
closed_port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

# ansible-test provides an inventory with `testhost` and its interpreter; outside it, make an equivalent one.
inventory="${INVENTORY_PATH:-}"
if [ -z "$inventory" ]; then
    inventory="$state/inventory"
    printf 'testhost ansible_connection=local ansible_python_interpreter=%s\n' "$(command -v python)" >"$inventory"
fi

ansible-playbook -i "$inventory" playbook.yml -e "closed_port=${closed_port}" "$@"
