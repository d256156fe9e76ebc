#!/usr/bin/env bash
# Apply the webhook configurations (deploy/webhooks) last, and safely
# (docs/admission.md, "Install"): wait until a replica of the server is Ready, then
# apply them with caBundle already set to the CA in the serving certificate's Secret
# (sovereign-webhook-tls, ca.crt; made by cert-manager or deploy/webhook-cert.sh).
# With failurePolicy: Fail, webhooks that exist before the server answers, or that
# the API server cannot trust yet, would refuse every Pod, Job and claim of the
# cluster (but those of kube-system and sovereign).
#
#   deploy/apply-webhooks.sh [--namespace sovereign] [--no-wait] [kubectl apply flags...]
#
# e.g. --dry-run=server to check them against the cluster without applying.
set -euo pipefail
ns=sovereign
wait=1
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--namespace) ns=$2; shift 2 ;;
	--no-wait) wait=0; shift ;;
	*) extra+=("$1"); shift ;;
	esac
done
kubectl=${KUBECTL:-kubectl}
here=$(cd "$(dirname "$0")" && pwd)

ca=$("$kubectl" -n "$ns" get secret sovereign-webhook-tls -o jsonpath='{.data.ca\.crt}')
if [ -z "$ca" ]; then
	echo "apply-webhooks: secret $ns/sovereign-webhook-tls has no ca.crt: issue the serving certificate first (deploy/cert-manager or deploy/webhook-cert.sh)" >&2
	exit 1
fi
if [ "$wait" = 1 ]; then
	"$kubectl" -n "$ns" rollout status statefulset/sovereign-webhook --timeout=10m
fi
rendered=$("$kubectl" kustomize "$here/webhooks")
n=$(grep -c 'caBundle: ""' <<<"$rendered" || true)
if [ "$n" -ne 2 ]; then
	echo "apply-webhooks: expected 2 caBundle placeholders in deploy/webhooks, found $n" >&2
	exit 1
fi
sed "s|caBundle: \"\"|caBundle: $ca|" <<<"$rendered" | "$kubectl" apply "${extra[@]}" -f -
