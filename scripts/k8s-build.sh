#!/usr/bin/env bash
# Build the real Kubernetes control plane the admission e2e test drives:
# kube-apiserver, kube-controller-manager and kubectl at one release, from Go
# modules (no download site is reachable here, and no Docker engine runs).
#
#   scripts/k8s-build.sh            # prints the directory holding the three binaries
#
# A scratch module requires k8s.io/kubernetes and replaces each staging module
# that kubernetes' own go.mod points at ./staging/... with its published
# v0.x.y twin. The binaries are cached under $SOVEREIGN_K8S_CACHE (default
# ~/.cache/sovereign/k8s-$VERSION): cold, about 15-20 minutes on 2 cores;
# cached, nothing is rebuilt.
set -euo pipefail
export GOTOOLCHAIN=local
VERSION=${K8S_VERSION:-v1.37.2}
STAGING=v0.${VERSION#v1.}
CACHE=${SOVEREIGN_K8S_CACHE:-$HOME/.cache/sovereign/k8s-$VERSION}
BIN=$CACHE/bin
if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ] && [ -x "$BIN/kubectl" ]; then
	echo "$BIN"
	exit 0
fi
mkdir -p "$CACHE/mod" "$BIN"
cd "$CACHE/mod"
gomod=$(go mod download -json "k8s.io/kubernetes@$VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
{
	echo "module sovereign.local/k8sbuild"
	echo
	echo "go 1.26.0"
	echo
	echo "require k8s.io/kubernetes $VERSION"
	echo
	echo "replace ("
	grep -E '^\s+k8s.io/[a-z0-9-]+ => ./staging/' "$gomod" | awk '{print $1}' |
		grep -v -E '^k8s.io/sample-(cli-plugin|controller)$' |
		while read -r m; do echo "	$m => $m $STAGING"; done
	echo ")"
} >go.mod
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
go mod tidy -e >&2 2>"$CACHE/tidy.log" || { cat "$CACHE/tidy.log" >&2; exit 1; }
for c in kube-apiserver kube-controller-manager kubectl; do
	go build -trimpath -ldflags="-s -w" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c" >&2
	mv "$BIN/$c.tmp" "$BIN/$c"
done
echo "$BIN"
