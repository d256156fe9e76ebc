#!/usr/bin/env bash
# The webhook's serving certificate without cert-manager (docs/admission.md,
# "Install"): a CA of its own (ECDSA P-256, 10 years, kept in the Secret
# sovereign-webhook-ca) signs a serving certificate for the Service's DNS names
# (ECDSA P-256, --days, default 365), written to the Secret sovereign-webhook-tls
# (tls.crt, tls.key, ca.crt) that the StatefulSet mounts. Needs kubectl and openssl.
#
#   deploy/webhook-cert.sh [--namespace sovereign] [--days 365]
#
# Run it again before the certificate expires (a calendar entry or a CronJob): the
# CA is kept, so the webhooks' caBundle stays valid, and the server picks up the new
# files without a restart. Then (first install) deploy/apply-webhooks.sh.
set -euo pipefail
ns=sovereign
days=365
while [ $# -gt 0 ]; do
	case $1 in
	--namespace) ns=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	*) echo "usage: $0 [--namespace NS] [--days N]" >&2; exit 2 ;;
	esac
done
kubectl=${KUBECTL:-kubectl}
svc=sovereign-webhook
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077

# The CA: reuse the one in the cluster, so that what the webhooks trust stays.
if "$kubectl" -n "$ns" get secret sovereign-webhook-ca >/dev/null 2>&1; then
	"$kubectl" -n "$ns" get secret sovereign-webhook-ca -o jsonpath='{.data.tls\.crt}' | base64 -d >"$tmp/ca.crt"
	"$kubectl" -n "$ns" get secret sovereign-webhook-ca -o jsonpath='{.data.tls\.key}' | base64 -d >"$tmp/ca.key"
	echo "webhook-cert: reusing the CA in secret $ns/sovereign-webhook-ca" >&2
else
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/CN=sovereign-webhook-ca" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>/dev/null
	"$kubectl" -n "$ns" create secret tls sovereign-webhook-ca --cert "$tmp/ca.crt" --key "$tmp/ca.key"
	echo "webhook-cert: created a CA in secret $ns/sovereign-webhook-ca" >&2
fi

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$svc.$ns.svc" \
	-keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
cat >"$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local
EXT
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
	-days "$days" -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt" 2>/dev/null
openssl verify -CAfile "$tmp/ca.crt" "$tmp/tls.crt" >/dev/null

# Created or replaced whole: the mounted files change together.
"$kubectl" -n "$ns" create secret generic sovereign-webhook-tls --type kubernetes.io/tls \
	--from-file=tls.crt="$tmp/tls.crt" --from-file=tls.key="$tmp/tls.key" --from-file=ca.crt="$tmp/ca.crt" \
	--dry-run=client -o yaml | "$kubectl" apply -f -
echo "webhook-cert: secret $ns/sovereign-webhook-tls holds a certificate for $svc.$ns.svc until $(openssl x509 -noout -enddate -in "$tmp/tls.crt" | cut -d= -f2)" >&2
