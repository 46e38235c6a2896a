#!/usr/bin/env bash
# The collection as a user gets it: install the built tarball into a clean venv (ansible-core only, no Gough dev
# tools) with `ansible-galaxy collection install`, its dependencies resolved from a Galaxy-compatible server on
# loopback that serves tarballs packed from the pinned `ansible` package's copies. Then, from the installed copy:
# the tarball's contents (pytest), `ansible-playbook gough.gough.provision` against the MAAS emulator (and a rerun
# that changes nothing), `--syntax-check` of every playbook, and `ansible-doc` of every plugin and role.
# The clean venv and the dependency tarballs are cached in BUILD_DIR.
# Usage: tools/install_check.sh PYTHON BUILD_DIR DEV_VENV_BIN
set -euo pipefail
python=$1
build=$2
devbin=$3
root=$(cd "$(dirname "$0")/.." && pwd)
started=$(date +%s)
version=$(sed -n 's/^version: *//p' "$root/galaxy.yml")
tarball="$build/dist/gough-gough-$version.tar.gz"
test -f "$tarball" || { echo "install-check: $tarball was not built" >&2; exit 1; }
fail() { echo "install-check: $*" >&2; exit 1; }

# The tarball holds the collection only (tests/unit/test_tarball_contents.py on this very file).
GOUGH_TARBALL="$tarball" "$devbin/python" -m pytest -q -p no:cacheprovider "$root/tests/unit/test_tarball_contents.py"

venv="$build/clean-venv"
core=$(grep -E '^ansible-core==' "$root/requirements.txt")
if ! "$venv/bin/python" -c 'import ansible' 2>/dev/null || [ "$("$venv/bin/pip" freeze 2>/dev/null | grep -i '^ansible-core==')" != "$core" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$core" > "$build/clean-venv.log" 2>&1 \
    || { cat "$build/clean-venv.log" >&2; fail "pip could not install $core into the clean venv"; }
fi
if [ -n "$("$venv/bin/python" -c 'import ansible_collections' 2>/dev/null && echo yes)" ]; then
  fail "the clean venv has collections of its own; it must hold ansible-core only"
fi

work="$build/install-check"
dest="$work/collections"
rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
# A clean environment: the clean venv's ansible only, no collections path or configuration from the caller.
clean() {
  env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$work/home" LANG=C.UTF-8 ANSIBLE_COLLECTIONS_PATH="$dest" \
    ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 "$@"
}

# Dependencies: packed once from the dev venv's `ansible` package, served on loopback.
site="$("$devbin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_collections"
deps="$build/galaxy-deps"
"$devbin/python" "$root/tools/local_galaxy.py" pack "$site" "$deps" "$tarball" >/dev/null
"$devbin/python" "$root/tools/local_galaxy.py" serve "$deps" "$work/galaxy.port" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/galaxy.port" ] && break; sleep 0.1; done
[ -s "$work/galaxy.port" ] || fail "the local Galaxy server did not start"
server="http://127.0.0.1:$(cat "$work/galaxy.port")/api/"

clean ansible-galaxy collection install --no-cache -s "$server" -p "$dest" "$tarball" > "$work/install.log" \
  || { cat "$work/install.log" >&2; fail "ansible-galaxy collection install failed"; }
installed=$(clean ansible-galaxy collection list -p "$dest" --format json \
  | "$venv/bin/python" -c 'import json, sys; d = json.load(sys.stdin); print(" ".join(sorted("%s:%s" % (n, v["version"]) for p in d.values() for n, v in p.items())))')
for fqcn in $("$venv/bin/python" -c 'import json, sys, tarfile; t = tarfile.open(sys.argv[1]); print(" ".join(json.load(t.extractfile("MANIFEST.json"))["collection_info"]["dependencies"]))' "$tarball"); do
  case " $installed " in *" $fqcn:"*) ;; *) fail "dependency $fqcn was not installed (installed: $installed)";; esac
done
coll="$dest/ansible_collections/gough/gough"
[ -f "$coll/MANIFEST.json" ] || fail "gough.gough is not in $dest"

# gough.gough.provision from the installed copy against the MAAS emulator (the repository's, from the dev venv).
state="$work/maas"
mkdir -p "$state"
PYTHONPATH="$root/lab" "$devbin/python" -m gough_lab.cli maas serve --listen 127.0.0.1:0 --state "$state" \
  --commission-seconds 0.2 --deploy-seconds 0.3 > "$state/emulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$state/url" ] && break; sleep 0.1; done
[ -s "$state/url" ] || { cat "$state/emulator.log" >&2; fail "the MAAS emulator did not start"; }
printf 'localhost ansible_connection=local ansible_python_interpreter=%s\n' "$venv/bin/python" > "$work/inventory"
cat > "$work/machines.yml" <<'EOF'
provision_distro_series: noble
provision_poll_interval: 0.2
provision_commission_timeout: 60
provision_deploy_timeout: 60
provision_user_data: |
  #cloud-config
  packages: [chrony]
provision_machines:
  - hostname: install-check-01
    mac_addresses: ["52:54:00:1c:00:01"]
  - hostname: install-check-02
    mac_addresses: ["52:54:00:1c:00:02"]
EOF
provision() {
  # Run from an empty directory: nothing of the source tree can be picked up.
  (cd "$work" && clean MAAS_URL="$(cat "$state/url")" MAAS_API_KEY="$(cat "$state/api_key")" \
    ansible-playbook -i "$work/inventory" gough.gough.provision -e @"$work/machines.yml") > "$work/provision.log" 2>&1 \
    || { tail -40 "$work/provision.log" >&2; fail "ansible-playbook gough.gough.provision failed"; }
  sed -n 's/^localhost *: .*changed=\([0-9]*\).*failed=\([0-9]*\).*/\1 \2/p' "$work/provision.log"
}
read -r changed failed <<< "$(provision)"
if [ "${changed:-0}" -eq 0 ] || [ "${failed:-1}" -ne 0 ]; then fail "gough.gough.provision: changed=$changed failed=$failed"; fi
read -r changed failed <<< "$(provision)"
if [ "${changed:-1}" -ne 0 ] || [ "${failed:-1}" -ne 0 ]; then fail "gough.gough.provision rerun: changed=$changed failed=$failed (want 0 and 0)"; fi
deployed=$("$venv/bin/python" - "$(cat "$state/url")" "$(cat "$state/api_key")" <<'EOF'
import json, sys, time, urllib.request, uuid
url, key = sys.argv[1], sys.argv[2]
consumer, token, secret = key.split(":")
auth = ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", oauth_token="%s", '
        'oauth_signature="&%s", oauth_nonce="%s", oauth_timestamp="%d"' % (consumer, token, secret, uuid.uuid4(), time.time()))
request = urllib.request.Request(url + "/api/2.0/machines/", headers={"Authorization": auth})
machines = json.load(urllib.request.urlopen(request))
print(sum(1 for m in machines if m["hostname"].startswith("install-check-") and m["status_name"] == "Deployed"))
EOF
)
[ "$deployed" -eq 2 ] || fail "MAAS has $deployed of 2 machines Deployed after gough.gough.provision"

# --syntax-check of every playbook the collection ships, by its FQCN, in one run (it stops at the first error).
playbooks=()
for file in "$coll"/playbooks/*.yml; do playbooks+=("gough.gough.$(basename "$file" .yml)"); done
(cd "$work" && clean ansible-playbook -i "$work/inventory" --syntax-check "${playbooks[@]}") > "$work/syntax.log" 2>&1 \
  || { cat "$work/syntax.log" >&2; fail "--syntax-check of the collection's playbooks failed"; }
checked=$(grep -c '^playbook: ' "$work/syntax.log" || true)
[ "$checked" -eq "${#playbooks[@]}" ] || fail "--syntax-check checked $checked of ${#playbooks[@]} playbooks"

# ansible-doc of every plugin and role, one run per type. ansible-doc exits 0 when a name has no documentation
# (it only warns), so every name must have its own header in the output.
count=0
for type in module inventory lookup filter test callback connection role; do
  names=$(clean ansible-doc -t "$type" -l gough.gough --json | "$venv/bin/python" -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))')
  [ -n "$names" ] || continue
  # shellcheck disable=SC2086
  clean ansible-doc -t "$type" $names > "$work/ansible-doc-$type.txt" 2>&1 \
    || { cat "$work/ansible-doc-$type.txt" >&2; fail "ansible-doc -t $type failed"; }
  for name in $names; do
    grep -qE "^> [A-Z]+:? \*?${name//./\\.}\*? " "$work/ansible-doc-$type.txt" \
      || { grep -E 'WARNING|ERROR' "$work/ansible-doc-$type.txt" >&2; fail "ansible-doc -t $type $name rendered no documentation"; }
    count=$((count + 1))
  done
  case $type in
    module) expected=$(find "$coll/plugins/modules" -name '*.py' ! -name '__init__.py' | wc -l) ;;
    role) expected=$(find "$coll/roles" -mindepth 1 -maxdepth 1 -type d | wc -l) ;;
    *) expected= ;;
  esac
  listed=$(wc -w <<< "$names")
  [ -z "$expected" ] || [ "$listed" -eq "$expected" ] || fail "ansible-doc lists $listed ${type}s; the collection has $expected"
done
[ "$count" -gt 0 ] || fail "ansible-doc found nothing in the installed collection"
installed=$(tr ' ' '\n' <<< "$installed" | grep -v '^ansible\._' | paste -sd ' ')
echo "install-check: $(basename "$tarball") and its dependencies ($installed) installed into a clean venv from a" \
  "local Galaxy server; gough.gough.provision deployed 2 machines on the MAAS emulator and a rerun changed nothing;" \
  "${#playbooks[@]} playbooks passed --syntax-check; ansible-doc rendered $count plugins and roles ($(( $(date +%s) - started )) s)"
