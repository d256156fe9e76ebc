package kubeaudit

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
)

// Username is the Kubernetes user a background judgement is made for.
const Username = "sovereign:kube-audit"

// Options configure an Auditor; New checks them.
type Options struct {
	// Config reaches the cluster (a kubeconfig's, or in-cluster).
	Config *rest.Config
	// Reviewer judges, under the webhook's configuration in force.
	Reviewer *admission.Reviewer
	// Engine is the bundle and inventory in force.
	Engine *engine.Engine
	// Append records a full run with findings in the audit log.
	Append func(context.Context, *audit.Record) (audit.Receipt, error)
	// Metrics are updated as objects are judged; NewMetrics.
	Metrics *Metrics
	Logger  *slog.Logger
	// Poll is how often the bundle, inventory, configuration and date are
	// compared with those of the last full run; default 2s.
	Poll time.Duration
	// Now is the clock of the date change; default time.Now.
	Now func() time.Time
}

// kind is a kind the webhook judges, and its informer.
type kind struct {
	gvk      metav1.GroupVersionKind
	resource string
	informer func(informers.SharedInformerFactory) cache.SharedIndexInformer
}

// kinds are those admission decodes (admission/object.go).
var kinds = []kind{
	{metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, "pods", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().Pods().Informer()
	}},
	{metav1.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, "persistentvolumeclaims", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().PersistentVolumeClaims().Informer()
	}},
	{metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Apps().V1().Deployments().Informer()
	}},
	{metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, "statefulsets", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Apps().V1().StatefulSets().Informer()
	}},
	{metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}, "daemonsets", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Apps().V1().DaemonSets().Informer()
	}},
	{metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, "replicasets", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Apps().V1().ReplicaSets().Informer()
	}},
	{metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, "jobs", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Batch().V1().Jobs().Informer()
	}},
	{metav1.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, "cronjobs", func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Batch().V1().CronJobs().Informer()
	}},
}

// key names a watched object: its kind's index in kinds and namespace/name.
type key struct {
	kind int
	name string // the informer's key, namespace/name
}

// state is what every judgement depends on besides the object: when it
// changes, everything is judged again.
type state struct {
	bundle, inventory string
	config            uint64
	date              string
}

// trigger says what changed from s to now, for the run's record.
func (s state) trigger(now state) string {
	switch {
	case s == state{}:
		return "start"
	case s.bundle != now.bundle:
		return "bundle"
	case s.inventory != now.inventory:
		return "inventory"
	case s.config != now.config:
		return "admission-config"
	}
	return "date"
}

// tracked is one object's last judgement.
type tracked struct {
	ns      string
	sum     [32]byte // of what was judged: the object less its status
	j       Judgement
	results []Result
	// failingSince is the first judgement of the current stretch out of
	// compliance; zero while compliant.
	failingSince time.Time
	tenants      []string
}

// Auditor is the background audit of one cluster.
type Auditor struct {
	o         Options
	factory   informers.SharedInformerFactory
	informers []cache.SharedIndexInformer
	reports   dynamic.NamespaceableResourceInterface

	wake chan struct{}

	mu      sync.Mutex
	pending map[key]struct{}
	objects map[key]*tracked
	byNS    map[string]map[key]struct{}
	dirty   map[string]struct{}

	synced   atomic.Bool
	writeErr atomic.Pointer[writeFailure]
	backoff  time.Duration
	retryAt  time.Time
	lastRun  state
}

type writeFailure struct {
	err error
	at  time.Time
}

// New builds the clients and informers; nothing reaches the cluster until
// Run.
func New(o Options) (*Auditor, error) {
	var errs []error
	if o.Config == nil {
		errs = append(errs, errors.New("kubeaudit: no cluster configuration"))
	}
	if o.Reviewer == nil || o.Engine == nil {
		errs = append(errs, errors.New("kubeaudit: a reviewer and an engine are required"))
	}
	if o.Append == nil {
		errs = append(errs, errors.New("kubeaudit: an audit log is required"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := rest.CopyConfig(o.Config)
	cfg.UserAgent = "sovereign-kube-audit"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeaudit: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeaudit: %w", err)
	}
	a := &Auditor{
		o: o, factory: informers.NewSharedInformerFactory(cs, 0),
		reports: dyn.Resource(PolicyReportGVR),
		wake:    make(chan struct{}, 1),
		pending: map[key]struct{}{}, objects: map[key]*tracked{},
		byNS: map[string]map[key]struct{}{}, dirty: map[string]struct{}{},
	}
	for i, k := range kinds {
		inf := k.informer(a.factory)
		// Only what is judged is kept: managed fields are large and read by
		// no one here.
		if err := inf.SetTransform(stripManagedFields); err != nil {
			return nil, fmt.Errorf("kubeaudit: %w", err)
		}
		enqueue := func(obj any) {
			if k, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				a.enqueue(key{i, k})
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
			DeleteFunc: enqueue,
		}); err != nil {
			return nil, fmt.Errorf("kubeaudit: %w", err)
		}
		a.informers = append(a.informers, inf)
	}
	return a, nil
}

func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

func (a *Auditor) enqueue(k key) {
	a.mu.Lock()
	a.pending[k] = struct{}{}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Ready is nil once the cluster's objects are listed and the reports can be
// written; else why not (serve --kube-audit-required puts it in /readyz).
func (a *Auditor) Ready() error {
	if !a.synced.Load() {
		return errors.New("kube audit: the cluster's workloads are not listed yet")
	}
	if f := a.writeErr.Load(); f != nil {
		return fmt.Errorf("kube audit: writing PolicyReports fails since %s: %v", f.at.UTC().Format(time.RFC3339), f.err)
	}
	return nil
}

// Run lists and watches the cluster until ctx is done. An unreachable API
// server is retried (by the informers, with backoff) and logged; it never
// stops the caller.
func (a *Auditor) Run(ctx context.Context) {
	a.factory.Start(ctx.Done())
	defer a.factory.Shutdown()
	a.o.Logger.Info("kube audit: listing the cluster's workloads", "host", a.o.Config.Host)
	for i, ok := range a.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			a.o.Logger.Info("kube audit: stopped before the workloads were listed", "kind", i.String())
			return
		}
	}
	a.synced.Store(true)
	a.o.Metrics.synced.Set(1)
	t := time.NewTicker(a.o.Poll)
	defer t.Stop()
	for {
		if now := a.state(); now != a.lastRun {
			a.fullRun(ctx, a.lastRun.trigger(now), now)
		} else {
			a.drain(ctx)
			a.writeDirty(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
		case <-t.C:
		}
	}
}

func (a *Auditor) state() state {
	p, inv := a.o.Engine.Policy(), a.o.Engine.Inventory()
	return state{bundle: p.Digest, inventory: inv.Revision, config: a.o.Reviewer.Generation(), date: a.o.Now().UTC().Format(time.DateOnly)}
}

// fullRun judges every object again, writes every report, and records the
// run when it finds anything out of compliance.
func (a *Auditor) fullRun(ctx context.Context, trigger string, now state) {
	a.mu.Lock()
	for i, inf := range a.informers {
		for _, k := range inf.GetIndexer().ListKeys() {
			a.pending[key{i, k}] = struct{}{}
		}
	}
	for k := range a.objects {
		a.pending[k] = struct{}{} // gone ones are dropped by drain
	}
	a.mu.Unlock()
	a.lastRun = now
	a.judgeAll(ctx, true)
	a.mu.Lock()
	for ns := range a.byNS {
		a.dirty[ns] = struct{}{}
	}
	a.mu.Unlock()
	a.retryAt = time.Time{}
	a.writeDirty(ctx)
	a.o.Metrics.runs.WithLabelValues(trigger).Inc()
	a.o.Metrics.lastRun.Set(float64(a.o.Now().UnixNano()) / 1e9)
	a.record(ctx, trigger)
}

// drain judges the objects that changed since the last pass.
func (a *Auditor) drain(ctx context.Context) { a.judgeAll(ctx, false) }

func (a *Auditor) judgeAll(ctx context.Context, force bool) {
	a.mu.Lock()
	pending := a.pending
	a.pending = map[key]struct{}{}
	a.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	for k := range pending {
		if ctx.Err() != nil {
			return
		}
		a.judgeKey(ctx, k, force)
	}
	a.updateGauges()
}

// judgeKey judges one object again, if it still exists and what is judged
// changed (or force), and marks its namespace's report to be written.
func (a *Auditor) judgeKey(ctx context.Context, k key, force bool) {
	obj, exists, err := a.informers[k.kind].GetIndexer().GetByKey(k.name)
	if err != nil || !exists {
		a.forget(k)
		return
	}
	o, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	raw, sum, err := judgedJSON(obj.(runtime.Object))
	a.mu.Lock()
	prev := a.objects[k]
	a.mu.Unlock()
	if err == nil && !force && prev != nil && prev.sum == sum {
		return // only its status or bookkeeping changed
	}
	kd := kinds[k.kind]
	at := a.o.Now()
	j := Judgement{At: at, Object: Object{
		APIVersion: metav1.GroupVersion{Group: kd.gvk.Group, Version: kd.gvk.Version}.String(),
		Kind:       kd.gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName(), UID: o.GetUID(),
	}}
	if err == nil {
		j.Record, err = a.review(ctx, kd, o, raw)
	}
	j.Err = err
	if j.Err == nil && j.Record.Result.Verdict == admission.VerdictExempt {
		a.forget(k) // an exempt namespace is not audited
		return
	}
	t := &tracked{ns: o.GetNamespace(), sum: sum, j: j, results: Results(j)}
	if j.Record != nil && j.Record.Result.Decision != nil {
		t.tenants = j.Record.Result.Decision.Tenants
	}
	if w := worst(t.results); w == ResultFail || w == ResultError {
		t.failingSince = at
		if prev != nil && !prev.failingSince.IsZero() {
			t.failingSince = prev.failingSince
		}
	}
	a.mu.Lock()
	a.objects[k] = t
	if a.byNS[t.ns] == nil {
		a.byNS[t.ns] = map[key]struct{}{}
	}
	a.byNS[t.ns][k] = struct{}{}
	if prev == nil || !sameResults(prev.results, t.results) {
		a.dirty[t.ns] = struct{}{}
	}
	a.mu.Unlock()
}

func sameResults(a, b []Result) bool {
	pa := &PolicyReport{Results: a}
	pb := &PolicyReport{Results: b}
	return sameContent(pa, pb)
}

func (a *Auditor) forget(k key) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.objects[k]
	if !ok {
		return
	}
	delete(a.objects, k)
	delete(a.byNS[t.ns], k)
	a.dirty[t.ns] = struct{}{}
}

// judgedJSON is the object as the webhook would read it on creation: less
// its status and the server's bookkeeping (so that a status update, which
// changes nothing judged, is not judged again), and the digest of that.
func judgedJSON(obj runtime.Object) ([]byte, [32]byte, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("encode the object: %w", err)
	}
	delete(u, "status")
	unstructured.RemoveNestedField(u, "metadata", "resourceVersion")
	unstructured.RemoveNestedField(u, "metadata", "managedFields")
	raw, err := json.Marshal(u)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("encode the object: %w", err)
	}
	return raw, sha256.Sum256(raw), nil
}

// review judges the object as the validating webhook would judge its
// creation: nothing is mutated and nothing is recorded per object.
func (a *Auditor) review(ctx context.Context, kd kind, o metav1.Object, raw []byte) (*admission.Record, error) {
	req := &admissionv1.AdmissionRequest{
		UID:       types.UID("kube-audit-" + string(o.GetUID())),
		Kind:      kd.gvk,
		Resource:  metav1.GroupVersionResource{Group: kd.gvk.Group, Version: kd.gvk.Version, Resource: kd.resource},
		Namespace: o.GetNamespace(),
		Name:      o.GetName(),
		Operation: admissionv1.Create,
		UserInfo:  authenticationv1.UserInfo{Username: Username},
		Object:    runtime.RawExtension{Raw: raw},
	}
	out, err := a.o.Reviewer.Review(ctx, req, false)
	if err != nil {
		return nil, err
	}
	return out.Record, nil
}

// writeDirty writes the reports of the namespaces whose results changed;
// a failure keeps them to write and backs off (1 s doubling to a minute).
func (a *Auditor) writeDirty(ctx context.Context) {
	if a.o.Now().Before(a.retryAt) {
		return
	}
	a.mu.Lock()
	dirty := slices.Sorted(maps.Keys(a.dirty))
	a.dirty = map[string]struct{}{}
	a.mu.Unlock()
	var failed []string
	var first error
	for _, ns := range dirty {
		if err := a.write(ctx, ns); err != nil {
			failed = append(failed, ns)
			first = cmp.Or(first, fmt.Errorf("namespace %s: %w", ns, err))
		}
	}
	if len(failed) == 0 {
		a.backoff = 0
		a.writeErr.Store(nil)
		return
	}
	a.o.Metrics.writeErrors.Add(float64(len(failed)))
	a.mu.Lock()
	for _, ns := range failed {
		a.dirty[ns] = struct{}{}
	}
	a.mu.Unlock()
	a.backoff = min(max(2*a.backoff, time.Second), time.Minute)
	a.retryAt = a.o.Now().Add(a.backoff)
	if f := a.writeErr.Load(); f == nil {
		a.writeErr.Store(&writeFailure{err: first, at: a.o.Now()})
	}
	a.o.Logger.Error("kube audit: PolicyReports not written; retrying", "namespaces", len(failed), "retry_in", a.backoff.String(), "err", first)
}

// write makes the namespace's report say what its objects' results say:
// created, updated when its content differs, deleted when no object is
// left. Only a report this package wrote is updated or deleted.
func (a *Auditor) write(ctx context.Context, ns string) error {
	a.mu.Lock()
	var results [][]Result
	for k := range a.byNS[ns] {
		results = append(results, a.objects[k].results)
	}
	if len(results) == 0 {
		delete(a.byNS, ns)
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ri := a.reports.Namespace(ns)
	cur, err := ri.Get(ctx, ReportName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cur = nil
	case err != nil:
		return err
	case cur.GetLabels()[ManagedByLabel] != managedBy:
		return fmt.Errorf("PolicyReport %s/%s exists and is not managed by sovereign (label %s)", ns, ReportName, ManagedByLabel)
	}
	if len(results) == 0 {
		if cur == nil {
			return nil
		}
		err := ri.Delete(ctx, ReportName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(cur.GetUID())}})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	want := BuildReport(ns, results)
	if cur != nil {
		var have PolicyReport
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(cur.Object, &have); err == nil && sameContent(&have, want) {
			return nil
		}
		want.Metadata.ResourceVersion = cur.GetResourceVersion()
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	if cur == nil {
		_, err = ri.Create(ctx, u, metav1.CreateOptions{})
	} else {
		_, err = ri.Update(ctx, u, metav1.UpdateOptions{})
	}
	return err
}

func ptr[T any](v T) *T { return &v }

func (a *Auditor) updateGauges() {
	counts := map[string]int{}
	a.mu.Lock()
	for _, t := range a.objects {
		counts[worst(t.results)]++
	}
	a.mu.Unlock()
	for _, r := range []string{ResultPass, ResultFail, ResultWarn, ResultError, ResultSkip} {
		a.o.Metrics.objects.WithLabelValues(r).Set(float64(counts[r]))
	}
}

// Findings are the workloads out of compliance (a fail or an error), for
// GET /v1/drift, and how many were judged; with tenant, only the workloads
// whose data belongs to that tenant alone. ok is false until the cluster's
// workloads are listed.
func (a *Auditor) Findings(tenant string) (judged int, out []drift.Finding, ok bool) {
	if !a.synced.Load() {
		return 0, nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.objects {
		if tenant != "" && !slices.Equal(t.tenants, []string{tenant}) {
			continue
		}
		judged++
		if f, bad := Finding(t.j, t.failingSince); bad {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(x, y drift.Finding) int { return cmp.Compare(x.Object, y.Object) })
	return judged, out, true
}

// record appends the record of a full run: counts, the findings in short
// form while they fit one log entry, and the digest of them all. A run that
// finds nothing is recorded too: the auditor's report shows the newest run
// of the cluster, and a clean run is what clears the last one's findings
// there. The log holds at most one record per trigger: start, an
// activation, a configuration, a day.
func (a *Auditor) record(ctx context.Context, trigger string) {
	judged, findings, _ := a.Findings("")
	rec, err := RunRecord(trigger, a.o.Now(), judged, findings, a.o.Engine)
	if err == nil {
		_, err = a.o.Append(ctx, rec)
	}
	if err != nil {
		a.o.Metrics.recordErrors.Inc()
		a.o.Logger.Error("kube audit: the run's audit record was not written", "trigger", trigger, "err", err)
	}
}

// RunRecord is the signed record of a full run (kind drift, source
// kubernetes), bounded to one log entry: the findings' items are dropped
// (ItemsOmitted) when they would not fit, the digest of them all stays.
func RunRecord(trigger string, at time.Time, judged int, findings []drift.Finding, eng *engine.Engine) (*audit.Record, error) {
	full, err := json.Marshal(findings)
	if err != nil {
		return nil, fmt.Errorf("kubeaudit: encode findings: %w", err)
	}
	sum := sha256.Sum256(full)
	req := audit.DriftRequest{Source: "kubernetes", Trigger: trigger}
	res := audit.DriftResult{
		EvaluatedAt: at.UTC().Format(time.RFC3339), Workloads: judged, OutOfCompliance: len(findings),
		ResultSHA256: fmt.Sprintf("%x", sum[:]),
	}
	for i := range findings {
		f := &findings[i]
		res.Items = append(res.Items, audit.DriftItem{Kind: f.Kind, Object: f.Object, Rules: f.Rules(), Since: f.Since})
	}
	p, inv := eng.Policy(), eng.Inventory()
	c := audit.Context{Bundle: audit.BundleRef{Revision: p.Revision, Digest: p.Digest}, InventoryRevision: inv.Revision, EngineVersion: engine.Version}
	rec, err := audit.NewDrift(audit.SystemPrincipal, req, res, c)
	if err != nil {
		return nil, err
	}
	if len(rec.Request)+len(rec.Result)+recordHeadroom > audit.MaxEntrySize {
		res.Items, res.ItemsOmitted = nil, true
		return audit.NewDrift(audit.SystemPrincipal, req, res, c)
	}
	return rec, nil
}

// recordHeadroom is what a record needs besides its request and result.
const recordHeadroom = 2048
