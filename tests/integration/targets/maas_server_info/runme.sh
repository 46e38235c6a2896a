#!/usr/bin/env bash
# Run maas_server_info against a throw-away lab MAAS emulator on 127.0.0.1.
# No `set -x`: it would print the API key into the test log.
set -eu
# shellcheck source=../setup_maas_emulator/emulator.sh
source ../setup_maas_emulator/emulator.sh
start_maas_emulator

# A port nothing listens on, for the unreachable case.
closed_port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

ansible-playbook -i "$(controller_inventory)" playbook.yml -e "closed_port=${closed_port}" "$@"
