#!/usr/bin/env bash
# Prove the built tarball installs into a clean venv (ansible-core only, no Gough dev tools) and that
# ansible-doc renders every plugin the collection ships.
# Usage: tools/install_check.sh PYTHON BUILD_DIR
set -euo pipefail
python=$1
build=$2
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^version: *//p' "$root/galaxy.yml")
tarball="$build/dist/gough-gough-$version.tar.gz"
test -f "$tarball" || { echo "install-check: $tarball was not built" >&2; exit 1; }
venv="$build/clean-venv"
core=$(grep -E '^ansible-core==' "$root/requirements.txt")
if ! "$venv/bin/python" -c 'import ansible' 2>/dev/null; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$core"
fi
dest="$build/clean-install"
rm -rf "$dest"
# A clean environment: no collections path from the caller, the venv's ansible only.
env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 ANSIBLE_COLLECTIONS_PATH="$dest" \
  ansible-galaxy collection install --offline -p "$dest" "$tarball"
export ANSIBLE_COLLECTIONS_PATH="$dest"
count=0
for type in module inventory lookup filter callback connection; do
  names=$(env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 ANSIBLE_COLLECTIONS_PATH="$dest" \
    ansible-doc -t "$type" -l gough.gough --json | "$venv/bin/python" -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))')
  for name in $names; do
    env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 ANSIBLE_COLLECTIONS_PATH="$dest" \
      ansible-doc -t "$type" "$name" > "$build/ansible-doc-$name.txt"
    count=$((count + 1))
  done
done
if [ "$count" -eq 0 ]; then
  echo "install-check: ansible-doc found no plugins in the installed collection" >&2
  exit 1
fi
echo "install-check: $(basename "$tarball") installed into a clean venv; ansible-doc rendered $count plugin(s)"
