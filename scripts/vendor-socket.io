#!/usr/bin/env bash
# Copies the official Socket.IO browser client (the ES module build) and its licence
# from the npm registry into sidestage/static/vendor/. The browser code imports it as
# is: no bundler, no build step. Run it again after changing VERSION; the tarball's
# integrity is checked against the registry's record before anything is copied.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.8.4
DEST=sidestage/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

expected=$(npm view "socket.io-client@$VERSION" dist.integrity 2>/dev/null)
(cd "$work" && npm pack --silent "socket.io-client@$VERSION" >/dev/null 2>&1)
tarball="$work/socket.io-client-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$expected" != "$actual" ]; then
  echo "integrity mismatch: registry says $expected, got $actual" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$work"
mkdir -p "$DEST"
cp "$work/package/dist/socket.io.esm.min.js" "$DEST/socket.io.esm.min.js"
cp "$work/package/LICENSE" "$DEST/socket.io.LICENSE"
echo "socket.io-client $VERSION -> $DEST"
