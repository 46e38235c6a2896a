#!/usr/bin/env bash
# Install the Debian packages the checks need (shellcheck for ansible-test's shellcheck sanity test; age, which
# encrypts the stack's backups, for the lab and its tests), when missing. Needs root for apt-get; otherwise it says
# what to install and fails.
set -euo pipefail
declare -A want=([shellcheck]=shellcheck [git]=git [age]=age)
# gpg and ssh-keygen: the lab node tests sign an apt repository and make SSH keys for the nodes.
want[gpg]=gnupg
want[ssh-keygen]=openssh-client
# chromium (headless): the fleet report's tests open the page in it (tests/unit/plugins/plugin_utils, tests/e2e).
want[chromium]=chromium
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "make setup: please install these Debian packages first: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
