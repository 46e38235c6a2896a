#!/usr/bin/env bash
# Build the collection's documentation site with antsibull-docs (plugin reference from the collection's own
# DOCUMENTATION/EXAMPLES/RETURN, plus docs/docsite extra docs). Output: docs/build/html.
# Usage: tools/build_docs.sh BUILD_DIR   (BUILD_DIR holds ansible_collections/gough/gough, laid out by `make tree`)
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
site="$build/docsite"
rm -rf "$site"
mkdir -p "$site"
export ANSIBLE_COLLECTIONS_PATH="$build"
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$site" \
  --project "Gough" --title "Gough (gough.gough)" --copyright "Gough developers" gough.gough
cd "$site"
# build.sh from sphinx-init: collection docs into rst/, then sphinx-build into build/html.
# -W turns Sphinx warnings into errors so a broken page fails `make docs`.
sed -i 's/sphinx-build -M html/sphinx-build -W --keep-going -M html/' build.sh
bash ./build.sh
rm -rf "$root/docs/build"
mkdir -p "$root/docs/build"
cp -a "$site/build/html" "$root/docs/build/html"
echo "Documentation site: $root/docs/build/html/index.html"
