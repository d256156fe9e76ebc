#!/bin/sh
# Builds Regal v0.42.0 (the OPA project's Rego linter) against this project's OPA
# v1.22.4 into bin/regal, outside the module (it is not a dependency), from the
# Go module proxy; the recipe of docs/policy-contract.md ("Linting"). Prints the
# binary's path. Reuses bin/regal when it is there.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/bin/regal"
if [ -x "$out" ]; then echo "$out"; exit 0; fi
export GOTOOLCHAIN=local CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init scratch/regal >/dev/null 2>&1
go get github.com/open-policy-agent/regal@v0.42.0 github.com/open-policy-agent/opa@v1.22.4 >/dev/null 2>&1
# regal v0.42.0 was built against gobwas/glob v0.2.3; OPA v1.22.4 needs v1.1.0,
# whose Compile returns *glob.Pattern instead of the glob.Glob interface.
cp -r "$(go env GOMODCACHE)/github.com/open-policy-agent/regal@v0.42.0" src && chmod -R u+w src
sed -i 's/glob\.Glob/*glob.Pattern/g' src/pkg/config/filter.go
go mod edit -replace github.com/open-policy-agent/regal=./src
go get github.com/open-policy-agent/regal@v0.42.0 github.com/open-policy-agent/opa@v1.22.4 >/dev/null 2>&1
mkdir -p "$repo/bin"
go build -o "$out" github.com/open-policy-agent/regal
echo "$out"
