#!/usr/bin/env bash
# Lints protos/ with buf (rules in buf.yaml at the repository root). buf comes from npm, pinned,
# installed once into a cache outside the repository; set BUF to use another buf binary.
set -euo pipefail
cd "$(dirname "$0")/.."

BUF_VERSION=1.75.0
if [[ -z "${BUF:-}" ]]; then
  prefix="${GRPCEXPLAIN_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/grpcexplain}/buf-$BUF_VERSION"
  BUF="$prefix/node_modules/.bin/buf"
  if [[ ! -x "$BUF" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "protos/lint.sh: npm is not installed; it is needed to install buf $BUF_VERSION (npm package @bufbuild/buf)." >&2
      echo "  Install Node.js with npm (Debian: apt-get install npm), or set BUF to a buf binary, and run again." >&2
      exit 1
    fi
    echo "protos/lint.sh: installing buf $BUF_VERSION from npm into $prefix"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-update-notifier --loglevel=error "@bufbuild/buf@$BUF_VERSION" >/dev/null
  fi
fi
"$BUF" lint
echo "protos/lint.sh: buf $("$BUF" --version) lint: clean"
