#!/usr/bin/env bash
# playbooks/provision.yml against a lab MAAS emulator with no machines: check mode sends no write before and after
# deployment, a verbose run shows no secret, and a rerun writes nothing to MAAS. What the run builds in MAAS (three
# machines Deployed with their series, tags and power type) and its changed=0 rerun are molecule/provision's.
# No `set -x`: it would print the API key into the test log.
set -eu -o pipefail
# shellcheck source=../setup_maas_emulator/emulator.sh
source ../setup_maas_emulator/emulator.sh
start_maas_emulator --commission-seconds 0.5 --deploy-seconds 1

inventory="$(controller_inventory)"
# The collection's playbook, by its FQCN, as an installed collection's user runs it.
playbook=gough.gough.provision
log="$EMULATOR_STATE/run.log"

run_provision() {
    ansible-playbook -i "$inventory" "$playbook" -e @machines.yml "$@" | tee "$log"
}

recap_changed() {
    sed -n 's/^localhost *: .*changed=\([0-9]*\).*/\1/p' "$log"
}

echo "== check mode on an empty MAAS: nothing is written"
lab_reset_stats
run_provision --check
[ "$(lab_stat writes)" -eq 0 ] || { echo "check mode wrote to MAAS" >&2; exit 1; }

echo "== first run: enlist, commission and deploy (verbose, so every result and invocation is in the log)"
run_provision -vvv >/dev/null
[ "$(recap_changed)" -gt 0 ]
if grep -q not-a-real-bmc-password "$log"; then
    echo "the BMC password appeared in the output" >&2
    exit 1
fi
if grep -qF -e "${MAAS_API_KEY##*:}" -e "packages: [chrony]" "$log"; then
    echo "the API key's secret or the user_data appeared in the output" >&2
    exit 1
fi

echo "== check mode after deployment: nothing to change, nothing written"
lab_reset_stats
run_provision --check
[ "$(recap_changed)" -eq 0 ] || { echo "check mode predicted changes after deployment" >&2; exit 1; }
[ "$(lab_stat writes)" -eq 0 ] || { echo "check mode wrote to MAAS" >&2; exit 1; }

echo "== rerun: writes nothing to MAAS"
lab_reset_stats
run_provision
[ "$(lab_stat writes)" -eq 0 ] || { echo "the rerun wrote to MAAS" >&2; exit 1; }
