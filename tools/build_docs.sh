#!/usr/bin/env bash
# Build Gough's manual with antsibull-docs: docs/README.md as the front page, the guides (docs/**/*.md, shipped as
# the collection's extra docs under docs/docsite) and the plugin and role reference from the collection's own
# DOCUMENTATION/EXAMPLES/RETURN and argument specs. Warnings are fatal. Output: docs/build/html.
# Usage: tools/build_docs.sh BUILD_DIR   (BUILD_DIR holds ansible_collections/gough/gough, laid out by `make tree`)
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
coll="$build/ansible_collections/gough/gough"
site="$build/docsite"
rm -rf "$site"
mkdir -p "$site"
export ANSIBLE_COLLECTIONS_PATH="$build"
# The guides as extra docs (again, in case the tree was laid out by hand), and the front page. Fails, naming the
# file, when a guide in docs/ is missing from docs/docsite/extra-docs.yml.
python3 "$root/tools/docsite_guides.py" "$coll" --front-page "$build/front_page.rst"
# The checks collections run on their docs: extra-docs.yml, links.yml, labels and RST of the extra docs.
(cd "$coll" && antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .)
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$site" \
  --index-rst-source "$build/front_page.rst" \
  --project "Gough" --title "Gough (gough.gough)" --copyright "Gough developers" gough.gough
cd "$site"
# Offline build: no intersphinx inventories can be fetched here, so drop the mapping, and give the one label
# labels the generated pages use from Ansible's own docs a local page that links out instead.
python3 - conf.py <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
text = re.sub(r"intersphinx_mapping = \{.*?\n\}\n", "intersphinx_mapping = {}\n", text, flags=re.S)
open(path, "w", encoding="utf-8").write(text)
PY
grep -q '^intersphinx_mapping = {}$' conf.py
cat > rst/ansible_reference.rst <<'RST'
:orphan:

Ansible's own reference
=======================

Generated plugin pages refer to these parts of Ansible's documentation, which an offline build cannot link
through intersphinx.

.. _ansible_configuration_settings:

Configuration settings
----------------------

Ansible's configuration settings and their environment variables:
https://docs.ansible.com/ansible/latest/reference_appendices/config.html

.. _common_return_values:

Common return values
--------------------

Keys every module may return (``changed``, ``failed``, ``msg``, ...):
https://docs.ansible.com/ansible/latest/reference_appendices/common_return_values.html

.. _action_plugins:

Action plugins
--------------

Controller-side halves of modules: https://docs.ansible.com/ansible/latest/plugins/action.html

Inventory cache settings
------------------------

Inventory plugins that cache read these settings of Ansible's (see
https://docs.ansible.com/ansible/latest/plugins/cache.html):

.. envvar:: ANSIBLE_CACHE_PLUGIN

   Cache plugin for inventory caching.

.. envvar:: ANSIBLE_CACHE_PLUGIN_CONNECTION

   Where the cache plugin keeps its data.

.. envvar:: ANSIBLE_CACHE_PLUGIN_PREFIX

   Prefix of the cache entries.

.. envvar:: ANSIBLE_CACHE_PLUGIN_TIMEOUT

   Seconds a cache entry stays valid.
RST
# build.sh from sphinx-init: collection docs into rst/, then sphinx-build (warnings fatal) into build/html.
grep -q 'sphinx-build .* -W' build.sh || { echo "build_docs: sphinx-init no longer makes warnings fatal" >&2; exit 1; }
bash ./build.sh
rm -rf "$root/docs/build"
mkdir -p "$root/docs/build"
cp -a "$site/build/html" "$root/docs/build/html"
echo "Documentation site: $root/docs/build/html/index.html"
