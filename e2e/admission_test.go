package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/sovereign-engine/sovereign/admission"
)

const regionLabel = "topology.kubernetes.io/region"

// pod is a Pod manifest: name, namespace, datasets annotation (none when
// empty) and extra spec lines (indented for spec:).
func pod(name, ns, datasets, spec string) string {
	ann := ""
	if datasets != "" {
		ann = "\n  annotations: {sovereign.dev/datasets: \"" + datasets + "\"}"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s%s
spec:
  containers: [{name: app, image: registry.example.com/app:1}]
%s`, name, ns, ann, spec)
}

// podTemplate is the template of the workloads below: labels app=name and
// no declaration of its own; a Job's pods do not restart.
func podTemplate(name, indent string, job bool) string {
	restart := ""
	if job {
		restart = "\n    restartPolicy: Never"
	}
	return strings.ReplaceAll(fmt.Sprintf(`template:
  metadata:
    labels: {app: %s}
  spec:
    containers: [{name: app, image: registry.example.com/app:1}]%s`, name, restart), "\n", "\n"+indent)
}

// workload is a Deployment, StatefulSet, DaemonSet or Job whose own
// metadata (not its pod template) declares datasets; extra is added to
// spec.
func workload(kind, name, ns, datasets, extra string) string {
	api := "apps/v1"
	selector := "\n  selector: {matchLabels: {app: " + name + "}}"
	if kind == "Job" {
		api, selector = "batch/v1", ""
	}
	return fmt.Sprintf(`apiVersion: %s
kind: %s
metadata:
  name: %s
  namespace: %s
  annotations: {sovereign.dev/datasets: "%s"}
spec:%s%s
  %s
`, api, kind, name, ns, datasets, selector, extra, podTemplate(name, "  ", kind == "Job"))
}

// requiredRegions lists the values of the In expressions on the region label
// in every term of a pod spec's required node affinity.
func requiredRegions(spec corev1.PodSpec) [][]string {
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	var out [][]string
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == regionLabel && e.Operator == corev1.NodeSelectorOpIn {
				out = append(out, e.Values)
			}
		}
	}
	return out
}

// warnings are the warnings kubectl printed.
func warnings(out string) []string {
	var ws []string
	for _, l := range strings.Split(out, "\n") {
		if w, ok := strings.CutPrefix(l, "Warning: "); ok {
			ws = append(ws, w)
		}
	}
	return ws
}

// TestAdmission is the webhook as a cluster operator meets it: the
// configurations of deploy/webhooks/webhooks.yaml registered with a real
// kube-apiserver, objects made with kubectl and by the controllers of a real
// kube-controller-manager, each case a subtest. The cases share one server
// and run in order: later ones use objects earlier ones made.
func TestAdmission(t *testing.T) {
	c := needCluster(t)
	for _, ns := range []string{"shop", "payments", "analytics", "sandbox"} {
		kubectl(t, "create", "namespace", ns)
	}
	for _, ns := range []string{"shop", "payments", "analytics", "sandbox"} {
		waitFor(t, time.Minute, "the default service account of "+ns, func() error {
			_, err := c.Kubectl(context.Background(), "get", "serviceaccount", "default", "-n", ns)
			return err
		})
	}
	w := startWebhook(t, c)
	// The API server picks the webhooks up within moments.
	waitFor(t, 30*time.Second, "the webhooks to be called", func() error {
		_, err := c.KubectlIn(context.Background(), pod("probe", "shop", "ghost-data", ""), "create", "--dry-run=server", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "ghost-data") {
			return fmt.Errorf("not refused by the webhook yet: %v", err)
		}
		return nil
	})
	validated := func(kind, ns, name string) func(entry) bool {
		return func(e entry) bool {
			return e.Req.Webhook == "validate" && e.Req.Kind.Kind == kind && e.Req.Namespace == ns && e.Req.Name == name
		}
	}
	atLeast := func(n int) func([]entry) bool { return func(es []entry) bool { return len(es) >= n } }

	t.Run("lawful everywhere", func(t *testing.T) {
		kubectlIn(t, pod("catalogue", "shop", "public-catalogue", ""), "create", "-f", "-")
		var p corev1.Pod
		getJSON(t, &p, "pod", "catalogue", "-n", "shop")
		if p.Spec.Affinity != nil {
			t.Errorf("public data may go anywhere: no affinity, got %+v", p.Spec.Affinity)
		}
		rec := w.waitRecords(t, "the pod's record", atLeast(1), validated("Pod", "shop", "catalogue"))[0]
		if rec.Result.Verdict != admission.VerdictAllowed || !slices.Equal(rec.Result.Datasets, []string{"public-catalogue"}) {
			t.Errorf("record %+v", rec.Result)
		}
	})

	t.Run("lawful in some regions: affinity added", func(t *testing.T) {
		kubectlIn(t, workload("Deployment", "checkout", "shop", "customer-pii-eu", "\n  replicas: 2"), "create", "-f", "-")
		var d appsv1.Deployment
		getJSON(t, &d, "deployment", "checkout", "-n", "shop")
		if got := requiredRegions(d.Spec.Template.Spec); len(got) != 1 || !slices.Equal(got[0], []string{"eu-central-1", "fr-par"}) {
			t.Errorf("want the pods kept to eu-central-1 and fr-par, got %v", got)
		}
		if got := d.Spec.Template.Annotations[admission.DatasetsKey]; got != "customer-pii-eu" {
			t.Errorf("the Deployment's declaration must be carried to its pod template, got %q", got)
		}
		yml := kubectl(t, "get", "deployment", "checkout", "-n", "shop", "-o", "yaml")
		if !strings.Contains(yml, "key: "+regionLabel) || !strings.Contains(yml, "- fr-par") {
			t.Errorf("kubectl get -o yaml must show the affinity:\n%s", yml)
		}
	})

	t.Run("controller-created pods are judged on the declaration and recorded", func(t *testing.T) {
		var pods corev1.PodList
		waitFor(t, 30*time.Second, "the Deployment's two pods", func() error {
			getJSON(t, &pods, "pods", "-n", "shop", "-l", "app=checkout")
			if len(pods.Items) != 2 {
				return fmt.Errorf("%d pods", len(pods.Items))
			}
			return nil
		})
		for _, p := range pods.Items {
			if p.Annotations[admission.DatasetsKey] != "customer-pii-eu" || len(requiredRegions(p.Spec)) != 1 {
				t.Errorf("pod %s: want the declaration and the affinity, got %v %v", p.Name, p.Annotations, requiredRegions(p.Spec))
			}
			rec := w.waitRecords(t, "pod "+p.Name+"'s record", atLeast(1), validated("Pod", "shop", p.Name))[0]
			if rec.Result.Verdict != admission.VerdictAllowed || !slices.Equal(rec.Result.Datasets, []string{"customer-pii-eu"}) ||
				!strings.HasPrefix(rec.Req.Owner, "ReplicaSet/checkout-") {
				t.Errorf("pod %s recorded as %+v by %+v", p.Name, rec.Result, rec.Req)
			}
		}
		for _, e := range w.records(t) {
			if e.Req.Namespace == "shop" && e.Result.Verdict == admission.VerdictUndeclared && strings.HasPrefix(e.Req.Owner, "ReplicaSet/checkout-") {
				t.Errorf("a pod of the Deployment recorded as undeclared: %+v", e)
			}
		}
	})

	t.Run("lawful nowhere: refused, one line per rule", func(t *testing.T) {
		msg := refused(t, pod("ru-data", "shop", "citizens-ru", ""), "create", "-f", "-")
		for _, want := range []string{`admission webhook "mutate.sovereign.dev" denied the request`, "sovereign: Pod shop/ru-data may be placed where its data may not go",
			"(citizens-ru)", "full decision "} {
			if !strings.Contains(msg, want) {
				t.Errorf("refusal lacks %q:\n%s", want, msg)
			}
		}
		rules := regexp.MustCompile(`(?:: |; )([a-z0-9_]+\.[a-z0-9_.]+) \[[^]]+\] at `).FindAllStringSubmatch(msg, -1)
		seen := map[string]bool{}
		for _, r := range rules {
			if seen[r[1]] {
				t.Errorf("rule %s named twice:\n%s", r[1], msg)
			}
			seen[r[1]] = true
		}
		if len(rules) == 0 {
			t.Errorf("no rule with its citation:\n%s", msg)
		}
	})

	t.Run("unknown dataset: refused", func(t *testing.T) {
		msg := refused(t, pod("ghost", "shop", "customer-pii-eu,ghost-data", ""), "create", "-f", "-")
		if !strings.Contains(msg, `unknown dataset "ghost-data"`) {
			t.Errorf("refusal: %s", msg)
		}
	})

	t.Run("no declaration: admitted, recorded undeclared", func(t *testing.T) {
		kubectlIn(t, pod("plain", "shop", "", ""), "create", "-f", "-")
		rec := w.waitRecords(t, "the pod's record", atLeast(1), validated("Pod", "shop", "plain"))[0]
		if rec.Result.Verdict != admission.VerdictUndeclared || !rec.Result.Allowed {
			t.Errorf("record %+v", rec.Result)
		}
	})

	t.Run("namespace default", func(t *testing.T) {
		kubectlIn(t, pod("ledger", "payments", "", ""), "create", "-f", "-")
		var p corev1.Pod
		getJSON(t, &p, "pod", "ledger", "-n", "payments")
		if got := requiredRegions(p.Spec); len(got) != 1 || !slices.Equal(got[0], []string{"ap-bom"}) {
			t.Errorf("payments' default dataset may only be in India: want ap-bom, got %v", got)
		}
		rec := w.waitRecords(t, "the pod's record", atLeast(1), validated("Pod", "payments", "ledger"))[0]
		if !slices.Equal(rec.Result.Datasets, []string{"payments-in"}) {
			t.Errorf("record %+v", rec.Result)
		}
	})

	t.Run("warn mode: warnings within the API server's limits", func(t *testing.T) {
		out := kubectlIn(t, workload("Deployment", "reports", "analytics", "customer-pii-eu,payments-in,patient-records-de", "\n  replicas: 1"), "create", "-f", "-")
		ws := warnings(out)
		rec := w.waitRecords(t, "the Deployment's record", atLeast(1), validated("Deployment", "analytics", "reports"))[0]
		if rec.Result.Verdict != admission.VerdictWouldDeny {
			t.Fatalf("record %+v", rec.Result)
		}
		total := 0
		for _, w := range ws {
			total += utf8.RuneCountInString(w)
			if utf8.RuneCountInString(w) > 256 {
				t.Errorf("warning over 256 characters, which the API server cuts: %s", w)
			}
		}
		if total > 4096 {
			t.Errorf("warnings total %d characters: the API server keeps 4,096", total)
		}
		// Every rule broken is one line, with its citation, and kubectl shows it.
		rules := map[string]string{}
		for _, sd := range rec.Result.Decision.Sites {
			if !sd.Allowed && slices.Contains(rec.Result.Candidates, sd.Site) {
				for _, v := range sd.Violations {
					rules[v.Rule] = v.Citation
				}
			}
		}
		for rule, citation := range rules {
			n := 0
			for _, w := range ws {
				if strings.HasPrefix(w, "sovereign (warn mode, would deny): "+rule+" ["+citation+"] at ") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("rule %s [%s]: %d warning lines, want 1:\n%s", rule, citation, n, strings.Join(ws, "\n"))
			}
		}
		pointer := fmt.Sprintf("sovereign: full decision %s: entry %d of audit log ", rec.ID, rec.Index)
		if !slices.ContainsFunc(ws, func(w string) bool { return strings.HasPrefix(w, pointer) }) {
			t.Errorf("no warning points at the validate decision (%s):\n%s", pointer, strings.Join(ws, "\n"))
		}
		if len(rules) < 5 {
			t.Errorf("the case must break several rules: %v", rules)
		}
		var d appsv1.Deployment
		getJSON(t, &d, "deployment", "reports", "-n", "analytics")
		if requiredRegions(d.Spec.Template.Spec) != nil || d.Spec.Template.Annotations[admission.DatasetsKey] == "" {
			t.Errorf("warn mode: no affinity, but the declaration carried: %v %v", requiredRegions(d.Spec.Template.Spec), d.Spec.Template.Annotations)
		}
	})

	t.Run("dryrun mode: admitted silently, recorded", func(t *testing.T) {
		out := kubectlIn(t, pod("sandboxed", "sandbox", "citizens-ru", ""), "create", "-f", "-")
		if ws := warnings(out); len(ws) > 0 {
			t.Errorf("dryrun mode warns nobody: %q", ws)
		}
		rec := w.waitRecords(t, "the pod's record", atLeast(1), validated("Pod", "sandbox", "sandboxed"))[0]
		if rec.Result.Verdict != admission.VerdictWouldDeny || !rec.Result.Allowed {
			t.Errorf("record %+v", rec.Result)
		}
	})

	t.Run("server-side dry run", func(t *testing.T) {
		msg := refused(t, pod("dry-ru", "shop", "citizens-ru", ""), "create", "--dry-run=server", "-f", "-")
		if !strings.Contains(msg, "citizens-ru") {
			t.Errorf("refusal: %s", msg)
		}
		kubectlIn(t, pod("dry-ok", "shop", "customer-pii-eu", ""), "create", "--dry-run=server", "-f", "-")
		if _, err := c.Kubectl(context.Background(), "get", "pod", "dry-ok", "-n", "shop"); err == nil {
			t.Errorf("a server-side dry run created the pod")
		}
		for _, e := range w.waitRecords(t, "the dry runs' records", atLeast(1), validated("Pod", "shop", "dry-ok")) {
			if !e.Req.DryRun || !e.Result.DryRun {
				t.Errorf("a dry run is recorded as one: %+v", e)
			}
		}
	})

	t.Run("updates and scale", func(t *testing.T) {
		kubectl(t, "scale", "deployment", "checkout", "-n", "shop", "--replicas=3")
		kubectl(t, "patch", "deployment", "checkout", "-n", "shop", "-p", `{"spec":{"replicas":2}}`)
		kubectl(t, "label", "deployment", "checkout", "-n", "shop", "team=payments")
		unchanged := w.waitRecords(t, "the updates' records", atLeast(2), func(e entry) bool {
			return validated("Deployment", "shop", "checkout")(e) && e.Req.Operation == "UPDATE"
		})
		for _, e := range unchanged {
			if e.Result.Verdict != admission.VerdictUnchanged || !e.Result.Allowed {
				t.Errorf("an update that changes nothing judged is admitted as unchanged: %+v", e.Result)
			}
		}
		msg := refused(t, "", "patch", "deployment", "checkout", "-n", "shop", "--type=json", "-p",
			`[{"op":"remove","path":"/spec/template/spec/affinity"},{"op":"add","path":"/spec/template/spec/nodeSelector","value":{"`+regionLabel+`":"us-east-1"}}]`)
		if !strings.Contains(msg, "gdpr.chapter5.no_basis") || !strings.Contains(msg, "at us-east-1") {
			t.Errorf("moving the pods to us-east-1 is refused with the rule: %s", msg)
		}
	})

	t.Run("statefulset claims are judged on the declaration", func(t *testing.T) {
		vct := "\n  replicas: 1\n  volumeClaimTemplates:\n  - metadata: {name: data}\n    spec: {accessModes: [ReadWriteOnce], storageClassName: %s, resources: {requests: {storage: 1Gi}}}"
		kubectlIn(t, workload("StatefulSet", "db", "shop", "customer-pii-eu", fmt.Sprintf(vct, "eu-only")), "create", "-f", "-")
		var claim corev1.PersistentVolumeClaim
		waitFor(t, 30*time.Second, "the claim data-db-0", func() error {
			_, err := c.Kubectl(context.Background(), "get", "pvc", "data-db-0", "-n", "shop")
			return err
		})
		getJSON(t, &claim, "pvc", "data-db-0", "-n", "shop")
		if claim.Annotations[admission.DatasetsKey] != "customer-pii-eu" {
			t.Errorf("the StatefulSet's declaration must reach its claims: %v", claim.Annotations)
		}
		rec := w.waitRecords(t, "the claim's record", atLeast(1), validated("PersistentVolumeClaim", "shop", "data-db-0"))[0]
		if rec.Result.Verdict != admission.VerdictAllowed || !slices.Equal(rec.Result.Datasets, []string{"customer-pii-eu"}) || rec.Result.Decision == nil {
			t.Errorf("claim recorded as %+v", rec.Result)
		}
		waitFor(t, 30*time.Second, "the pod db-0", func() error {
			_, err := c.Kubectl(context.Background(), "get", "pod", "db-0", "-n", "shop")
			return err
		})

		// A claim of the default class may be provisioned at any site of
		// the cluster: refused, so the StatefulSet makes no pod.
		kubectlIn(t, workload("StatefulSet", "db-anywhere", "shop", "customer-pii-eu", fmt.Sprintf(vct, `""`)), "create", "-f", "-")
		rec = w.waitRecords(t, "the refused claim's record", atLeast(1), func(e entry) bool {
			return e.Req.Kind.Kind == "PersistentVolumeClaim" && e.Req.Name == "data-db-anywhere-0" && e.Result.Verdict == admission.VerdictDenied
		})[0]
		if !slices.Equal(rec.Result.Datasets, []string{"customer-pii-eu"}) {
			t.Errorf("claim recorded as %+v", rec.Result)
		}
		if _, err := c.Kubectl(context.Background(), "get", "pvc", "data-db-anywhere-0", "-n", "shop"); err == nil {
			t.Errorf("the refused claim exists")
		}
		if _, err := c.Kubectl(context.Background(), "get", "pod", "db-anywhere-0", "-n", "shop"); err == nil {
			t.Errorf("a pod without its claim was created")
		}
	})

	// Objects of every kind, admitted now, live through a policy change and
	// are deleted under enforce afterwards.
	t.Run("objects of every kind", func(t *testing.T) {
		kubectlIn(t, workload("DaemonSet", "agent", "shop", "customer-pii-eu", ""), "create", "-f", "-")
		kubectlIn(t, workload("Job", "export", "shop", "customer-pii-eu", "\n  backoffLimit: 0"), "create", "-f", "-")
		kubectlIn(t, `apiVersion: batch/v1
kind: CronJob
metadata:
  name: settle
  namespace: shop
  annotations: {sovereign.dev/datasets: customer-pii-eu}
spec:
  schedule: "0 0 1 1 *"
  jobTemplate:
    spec:
      `+podTemplate("settle", "      ", true)+`
`, "create", "-f", "-")
		kubectl(t, "create", "job", "settle-now", "-n", "shop", "--from=cronjob/settle")
		kubectlIn(t, `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: orders
  namespace: shop
  annotations: {sovereign.dev/datasets: customer-pii-eu}
spec: {accessModes: [ReadWriteOnce], storageClassName: eu-only, resources: {requests: {storage: 1Gi}}}
`, "create", "-f", "-")
		kubectlIn(t, strings.Replace(pod("held", "shop", "customer-pii-eu", ""), "  namespace: shop", "  namespace: shop\n  finalizers: [example.com/hold]", 1), "create", "-f", "-")
		// The Job made from the CronJob carries the CronJob's declaration.
		var job struct {
			Spec struct{ Template corev1.PodTemplateSpec }
		}
		getJSON(t, &job, "job", "settle-now", "-n", "shop")
		if job.Spec.Template.Annotations[admission.DatasetsKey] != "customer-pii-eu" || len(requiredRegions(job.Spec.Template.Spec)) == 0 {
			t.Errorf("the Job from the CronJob: %v %v", job.Spec.Template.Annotations, requiredRegions(job.Spec.Template.Spec))
		}
		waitFor(t, 30*time.Second, "the Jobs' pods", func() error {
			var pods corev1.PodList
			getJSON(t, &pods, "pods", "-n", "shop", "-l", "batch.kubernetes.io/job-name")
			if len(pods.Items) < 2 {
				return fmt.Errorf("%d job pods", len(pods.Items))
			}
			return nil
		})
	})

	t.Run("a policy change under running objects", func(t *testing.T) {
		// customer-pii-eu may now reside only in Germany: par-1 (fr-par),
		// allowed when the objects above were admitted, is now forbidden.
		b, err := os.ReadFile(filepath.Join(w.invDir, "datasets.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(b), "    origin_country: DE\n    encryption: {at_rest: true, end_to_end: false, key_holder: customer}",
			"    origin_country: DE\n    residency: [DE]\n    encryption: {at_rest: true, end_to_end: false, key_holder: customer}", 1)
		if changed == string(b) {
			t.Fatal("demo inventory changed: update the policy change")
		}
		w.setInventory(t, "datasets.yaml", changed)
		msg := refused(t, pod("paris", "shop", "customer-pii-eu", "  nodeSelector: {"+regionLabel+": fr-par}"), "create", "-f", "-")
		if !strings.Contains(msg, "dataset.residency") {
			t.Fatalf("the new policy is not in force: %s", msg)
		}
		// Updates that change nothing placement depends on are admitted.
		kubectl(t, "label", "deployment", "checkout", "-n", "shop", "policy=changed")
		kubectl(t, "patch", "deployment", "checkout", "-n", "shop", "-p", `{"spec":{"replicas":3}}`)
		kubectl(t, "annotate", "statefulset", "db", "-n", "shop", "example.com/note=kept")
		kubectl(t, "annotate", "pvc", "orders", "-n", "shop", "example.com/note=kept")
		kubectl(t, "label", "pod", "held", "-n", "shop", "policy=changed")
		kubectl(t, "label", "cronjob", "settle", "-n", "shop", "policy=changed")
		// A rollout is restricted to where the data may go now, never refused.
		kubectl(t, "rollout", "restart", "deployment", "checkout", "-n", "shop")
		var d appsv1.Deployment
		getJSON(t, &d, "deployment", "checkout", "-n", "shop")
		got := requiredRegions(d.Spec.Template.Spec)
		if len(got) != 2 || !slices.Equal(got[1], []string{"eu-central-1"}) {
			t.Errorf("the restarted Deployment's pods must be kept to eu-central-1: %v", got)
		}
	})

	t.Run("deletion of every kind under enforce", func(t *testing.T) {
		start := time.Now()
		var last uint64
		for _, e := range w.records(t) {
			last = max(last, e.Index)
		}
		// job/settle-now is owned by cronjob/settle (kubectl create job
		// --from), so the foreground cascade of the CronJob may have removed it
		// already: not found is not a failure; what is left is checked below.
		for _, obj := range []string{"deployment/checkout", "statefulset/db", "statefulset/db-anywhere", "daemonset/agent", "job/export", "cronjob/settle", "job/settle-now"} {
			kubectl(t, "delete", obj, "-n", "shop", "--cascade=foreground", "--timeout=60s", "--ignore-not-found")
		}
		kubectl(t, "delete", "pvc", "data-db-0", "orders", "-n", "shop", "--timeout=60s")
		// A finalizer of someone else's, removed once the pod is deleted.
		kubectl(t, "delete", "pod", "held", "-n", "shop", "--wait=false")
		kubectl(t, "patch", "pod", "held", "-n", "shop", "--type=json", "-p", `[{"op":"remove","path":"/metadata/finalizers"}]`)
		waitFor(t, 60*time.Second, "every object to be gone", func() error {
			out := kubectl(t, "get", "deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,pvc,pods", "-n", "shop", "-o", "name")
			var left []string
			for _, n := range strings.Fields(out) {
				if n != "pod/catalogue" && n != "pod/plain" {
					left = append(left, n)
				}
			}
			if len(left) > 0 {
				return fmt.Errorf("left: %v", left)
			}
			return nil
		})
		t.Logf("every kind deleted under enforce in %v", time.Since(start).Round(100*time.Millisecond))
		kinds := map[string]bool{}
		for _, e := range w.records(t) {
			if e.Index <= last {
				continue
			}
			if e.Result.Verdict == admission.VerdictDeleting {
				kinds[e.Req.Kind.Kind] = true
			}
			if e.Req.Operation == "UPDATE" && !e.Result.Allowed {
				t.Errorf("an UPDATE during the deletions was refused: %+v %+v", e.Req, e.Result)
			}
		}
		for _, k := range []string{"Deployment", "ReplicaSet", "StatefulSet", "PersistentVolumeClaim", "Pod"} {
			if !kinds[k] {
				t.Errorf("no %s finished its deletion through the webhook (kinds seen: %v)", k, kinds)
			}
		}
	})

	// Before the failures below, whose timeouts would swamp it.
	t.Run("apiserver-measured admission latency", func(t *testing.T) {
		metrics, err := c.Metrics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"mutate.sovereign.dev", "validate.sovereign.dev"} {
			h := webhookHistogram(metrics, name)
			if h.count == 0 {
				t.Errorf("no %s in apiserver_admission_webhook_admission_duration_seconds", name)
				continue
			}
			t.Logf("apiserver_admission_webhook_admission_duration_seconds{name=%q}: %s", name, h)
		}
	})
	t.Run("webhook answering 503: refused, and kubectl says why", func(t *testing.T) {
		if err := os.WriteFile(w.config, []byte("# no cluster_site: nothing to decide against\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(w.config, []byte(webhookConfig), 0o600) })
		var msg string
		waitFor(t, 15*time.Second, "the server to answer 503", func() error {
			_, err := c.KubectlIn(context.Background(), pod("unconfigured", "shop", "public-catalogue", ""), "create", "-f", "-")
			if err == nil {
				return fmt.Errorf("admitted")
			}
			msg = err.Error()
			if !strings.Contains(msg, "not configured") {
				return fmt.Errorf("%s", msg)
			}
			return nil
		})
		if !strings.Contains(msg, "sovereign: the admission webhook is not configured: serve needs --cluster-site") || strings.Contains(msg, "unable to handle the request") {
			t.Errorf("kubectl must show the Status message:\n%s", msg)
		}
		if err := os.WriteFile(w.config, []byte(webhookConfig), 0o600); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the configuration back", func() error {
			_, err := c.KubectlIn(context.Background(), pod("configured", "shop", "public-catalogue", ""), "create", "--dry-run=server", "-f", "-")
			return err
		})
	})

	t.Run("webhook stopped: refused at once", func(t *testing.T) {
		w.stop(t)
		start := time.Now()
		msg := refused(t, pod("stopped", "shop", "public-catalogue", ""), "create", "-f", "-")
		took := time.Since(start)
		w.start(t)
		if !strings.Contains(msg, "failed calling webhook") || took > 10*time.Second {
			t.Errorf("want a refusal well within timeoutSeconds, got after %v: %s", took, msg)
		}
	})

	t.Run("webhook paused: refused within timeoutSeconds, nothing recorded as admitted", func(t *testing.T) {
		w.signal(t, syscall.SIGSTOP)
		start := time.Now()
		msg := refused(t, pod("paused", "shop", "public-catalogue", ""), "create", "-f", "-")
		took := time.Since(start)
		w.signal(t, syscall.SIGCONT)
		if took < 4*time.Second || took > 12*time.Second || !strings.Contains(msg, "failed calling webhook") {
			t.Errorf("want a refusal after timeoutSeconds (5s), got after %v: %s", took, msg)
		}
		// What the paused server reads on resuming is past the API server's
		// deadline: no admission of it stands unvoided.
		time.Sleep(3 * time.Second)
		voided := map[string]bool{}
		es := w.records(t)
		for _, e := range es {
			if e.Result.Verdict == admission.VerdictUnanswered {
				voided[e.Result.Voids] = true
			}
		}
		for _, e := range es {
			if e.Req.Name == "paused" && e.Result.Allowed && !voided[e.ID] {
				t.Errorf("the API server refused pod paused, yet the log says it was admitted: %+v", e)
			}
		}
		if _, err := c.Kubectl(context.Background(), "get", "pod", "paused", "-n", "shop"); err == nil {
			t.Errorf("pod paused exists")
		}
	})

	t.Run("the audit log verifies", func(t *testing.T) {
		w.stop(t) // every record published
		out, err := runSovereign("audit", "verify", "--log", filepath.Join(w.dataDir, "log"), "--public-key", filepath.Join(w.dataDir, "signing.pub"))
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		t.Logf("%d admission records; %s", len(w.records(t)), strings.TrimSpace(out))
	})

}

// histogram is a Prometheus histogram summed over its other labels.
type histogram struct {
	count   float64
	sum     float64
	buckets map[float64]float64 // upper bound → cumulative count
}

func (h histogram) String() string {
	bounds := make([]float64, 0, len(h.buckets))
	for b := range h.buckets {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	quantile := func(q float64) string {
		for _, b := range bounds {
			if h.buckets[b] >= q*h.count {
				return "≤ " + strconv.FormatFloat(b*1000, 'f', -1, 64) + " ms"
			}
		}
		return "> last bucket"
	}
	return fmt.Sprintf("%.0f calls, mean %.2f ms, p50 %s, p90 %s, p99 %s", h.count, h.sum/h.count*1000, quantile(0.5), quantile(0.9), quantile(0.99))
}

// webhookHistogram reads apiserver_admission_webhook_admission_duration_seconds
// for one webhook from the API server's metrics.
func webhookHistogram(metrics, name string) histogram {
	h := histogram{buckets: map[float64]float64{}}
	const metric = "apiserver_admission_webhook_admission_duration_seconds"
	for _, line := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(line, metric) || !strings.Contains(line, `name="`+name+`"`) {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(line, metric+"_count"):
			h.count += v
		case strings.HasPrefix(line, metric+"_sum"):
			h.sum += v
		case strings.HasPrefix(line, metric+"_bucket"):
			m := regexp.MustCompile(`le="([^"]+)"`).FindStringSubmatch(line)
			if m == nil || m[1] == "+Inf" {
				continue
			}
			if le, err := strconv.ParseFloat(m[1], 64); err == nil {
				h.buckets[le] += v
			}
		}
	}
	return h
}
