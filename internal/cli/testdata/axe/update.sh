#!/bin/sh
# Refreshes the vendored axe-core (the accessibility rules the browser tests
# inject into every page) from the npm registry. The tests read only the
# files kept here, so they run without network; run this by hand to move to
# a newer axe-core, then run the browser tests and commit what changed.
#
#   internal/cli/testdata/axe/update.sh [version]   (default: latest)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
version=${1:-latest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "axe-core@$version" >/dev/null
tar xzf axe-core-*.tgz
cp package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt "$here/"
node -e 'process.stdout.write(require("./package/package.json").version + "\n")' > "$here/VERSION" 2>/dev/null ||
	sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' package/package.json | head -n 1 > "$here/VERSION"
echo "axe-core $(cat "$here/VERSION") vendored in $here"
