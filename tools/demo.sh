#!/usr/bin/env bash
# `make demo`: the lab's provisioning (stack, enlist, commission, deploy, agent, journal, Fleet, compliance gate),
# then the showcases (alert drill, backup, day-2 status, the fleet report), each part timed; both times are printed at the end.
# GOUGH_DEMO_PROFILE=1 adds ansible's profile_tasks callback (each task's time, the slowest at the end of each play).
# Usage: tools/demo.sh <venv bin dir> <lab dir>   (from the Makefile's demo target)
set -euo pipefail
bin=${1:?venv bin directory}
lab_dir=${2:?lab directory}
if [ "${GOUGH_DEMO_PROFILE:-0}" = 1 ]; then
  export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks PROFILE_TASKS_TASK_OUTPUT_LIMIT=${PROFILE_TASKS_TASK_OUTPUT_LIMIT:-10}
fi
playbook() { "$bin/ansible-playbook" "$@"; }

started=$SECONDS
# make demo built or confirmed the images just before (its lab-images prerequisite), so lab.yml does not again.
playbook lab/playbooks/lab.yml -e lab_dir="$lab_dir" -e lab_build_images=false
playbook -i "$lab_dir/inventory" playbooks/site.yml
provisioning=$((SECONDS - started))

started=$SECONDS
playbook -i "$lab_dir/inventory" playbooks/alert_drill.yml -e alert_drill_sink_file="$lab_dir/stack/sink/notifications.jsonl"
playbook -i "$lab_dir/inventory" playbooks/backup.yml -e stack_profile=lab -e stack_base_dir="$lab_dir/stack"
playbook -i "$lab_dir/inventory" playbooks/status.yml -e stack_profile=lab -e stack_base_dir="$lab_dir/stack"
playbook -i "$lab_dir/inventory" playbooks/report.yml -e stack_profile=lab -e stack_base_dir="$lab_dir/stack"
showcases=$((SECONDS - started))

echo
echo "make demo: provisioning (stack, enlist, commission, deploy, agent, journal, Fleet, compliance gate) took ${provisioning} s"
echo "make demo: the showcases (alert drill, backup, status, fleet report) took ${showcases} s"
echo "The lab stays up (files in $lab_dir). Run 'make demo' again: site.yml changes nothing (each run adds a backup)."
echo "Log in to a node: ssh -i $lab_dir/ssh/id_ed25519 ops@<IP from the table>"
echo "Tear it down:     make lab-down"
echo "Fleet report:     $lab_dir/stack/report/index.html, also at https://127.0.0.1:9443/report/ (the lab's nginx; Gough's CA: $lab_dir/stack/ca/ca.crt)"
