package kubeaudit

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
)

// What the reports say of themselves.
const (
	// ReportName is the name of the PolicyReport written in each namespace.
	ReportName = "sovereign"
	// Source names Sovereign in each result, as Kyverno writes "kyverno".
	Source = "sovereign"
	// Policy is the policy every result is about: where a workload's data
	// may go. The rule is the bundle's rule id (gdpr.chapter5.no_basis).
	Policy = "sovereign-data-placement"
	// RulePlacement is the rule of a result that is not one broken rule: a
	// pass, a skip, or a placement that cannot be judged.
	RulePlacement = "placement"
	// Category of every result.
	Category = "Data sovereignty"
	// ManagedByLabel marks the reports this package writes; it deletes
	// only those.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "sovereign"
	// OmittedAnnotation counts the results left out of a report too large
	// for the API server (pass and skip first); the summary counts them.
	OmittedAnnotation = "sovereign.dev/results-omitted"
	// CannotJudgeRule is the rule id of a drift finding for a workload whose
	// placement cannot be judged (an unknown dataset, a region no site has):
	// refused by the webhook, so out of compliance.
	CannotJudgeRule = "admission.cannot_judge"
)

// Results of a PolicyReport.
const (
	ResultPass  = "pass"
	ResultFail  = "fail"
	ResultWarn  = "warn"
	ResultError = "error"
	ResultSkip  = "skip"
)

// PolicyReportGVR is the resource the reports are written to.
var PolicyReportGVR = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}

// PolicyReport is a wgpolicyk8s.io/v1alpha2 PolicyReport, the fields this
// package writes (deploy/kube-audit/policyreport-crd.yaml is its schema).
type PolicyReport struct {
	APIVersion string                  `json:"apiVersion"`
	Kind       string                  `json:"kind"`
	Metadata   metav1.ObjectMeta       `json:"metadata"`
	Scope      *corev1.ObjectReference `json:"scope,omitempty"`
	Summary    Summary                 `json:"summary"`
	Results    []Result                `json:"results,omitempty"`
}

// Summary counts a report's results by outcome.
type Summary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

func (s *Summary) add(result string) {
	switch result {
	case ResultPass:
		s.Pass++
	case ResultFail:
		s.Fail++
	case ResultWarn:
		s.Warn++
	case ResultError:
		s.Error++
	default:
		s.Skip++
	}
}

// Result is one policy result about one object.
type Result struct {
	Source    string                   `json:"source"`
	Policy    string                   `json:"policy"`
	Rule      string                   `json:"rule,omitempty"`
	Category  string                   `json:"category,omitempty"`
	Severity  string                   `json:"severity,omitempty"`
	Timestamp Timestamp                `json:"timestamp"`
	Result    string                   `json:"result"`
	Scored    bool                     `json:"scored,omitempty"`
	Resources []corev1.ObjectReference `json:"resources,omitempty"`
	Message   string                   `json:"message,omitempty"`
	// Properties carry the citation, the sites and datasets, the mode and
	// the decision's id, bundle and inventory.
	Properties map[string]string `json:"properties,omitempty"`
}

// Timestamp is when a result was found, as the CRD has it.
type Timestamp struct {
	Seconds int64 `json:"seconds"`
	Nanos   int32 `json:"nanos"`
}

// Object names a judged object.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
}

// String is "Kind namespace/name".
func (o Object) String() string { return o.Kind + " " + o.Namespace + "/" + o.Name }

func (o Object) ref() corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, UID: o.UID}
}

// Judgement is one object judged at At: the record the webhook would have
// kept of its creation, or the error that kept it from being judged.
type Judgement struct {
	Object Object
	At     time.Time
	Record *admission.Record
	Err    error
}

// Results are the PolicyReport results of a judgement: one pass when every
// site the object could land at is lawful; one fail per rule broken, naming
// its sites, datasets and citation; one error when the placement cannot be
// judged (an unknown dataset, a region no site has: the webhook refuses
// those); one skip when the object declares no data. A placement refused
// is a fail in every mode: the mode says what the webhook does at
// admission, not whether the object complies (properties.mode says which).
func Results(j Judgement) []Result {
	base := Result{
		Source: Source, Policy: Policy, Rule: RulePlacement, Category: Category, Scored: true,
		Timestamp: Timestamp{Seconds: j.At.Unix(), Nanos: int32(j.At.Nanosecond())},
		Resources: []corev1.ObjectReference{j.Object.ref()},
	}
	if j.Err != nil || j.Record == nil {
		r := base
		r.Result, r.Severity = ResultError, "high"
		r.Message = fmt.Sprintf("sovereign could not judge %s: %v", j.Object, j.Err)
		return []Result{r}
	}
	rec := j.Record
	props := func(extra ...string) map[string]string {
		p := map[string]string{"verdict": rec.Result.Verdict, "mode": rec.Result.Mode}
		if len(rec.Result.Datasets) > 0 {
			p["datasets"] = strings.Join(rec.Result.Datasets, ",")
		}
		if rec.Result.Workload != "" {
			p["workload"] = rec.Result.Workload
		}
		if rec.Result.Decision != nil {
			p["decision_id"] = rec.ID
		}
		if rec.Bundle.Revision != "" {
			p["bundle_revision"] = rec.Bundle.Revision
		}
		if rec.InventoryRevision != "" {
			p["inventory_revision"] = rec.InventoryRevision
		}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] != "" {
				p[extra[i]] = extra[i+1]
			}
		}
		return p
	}
	switch rec.Result.Verdict {
	case admission.VerdictAllowed, admission.VerdictPatched:
		r := base
		r.Result = ResultPass
		r.Message = fmt.Sprintf("%s: every site it could land at (%s) is lawful for its data", j.Object, strings.Join(rec.Result.Candidates, ", "))
		r.Properties = props("sites", strings.Join(rec.Result.Candidates, ","))
		return []Result{r}
	case admission.VerdictDenied, admission.VerdictWouldDeny:
	case admission.VerdictUndeclared:
		r := base
		r.Result = ResultSkip
		r.Message = fmt.Sprintf("%s declares no datasets (%s) and its namespace has no default: no regulated data to judge", j.Object, admission.DatasetsKey)
		r.Properties = props()
		return []Result{r}
	default:
		r := base
		r.Result = ResultSkip
		r.Message = fmt.Sprintf("%s not judged (%s)", j.Object, rec.Result.Verdict)
		r.Properties = props()
		return []Result{r}
	}
	var out []Result
	if len(rec.Result.Problems) > 0 {
		r := base
		r.Result, r.Severity = ResultError, "high"
		r.Message = fmt.Sprintf("%s: where its data may go cannot be judged, so the webhook refuses it: %s", j.Object, strings.Join(rec.Result.Problems, "; "))
		r.Properties = props()
		out = append(out, r)
	}
	for _, f := range brokenRules(rec) {
		r := base
		r.Rule, r.Result, r.Severity = f.rule, ResultFail, "high"
		r.Message = fmt.Sprintf("%s may be placed where its data may not go: at %s: %s", j.Object, strings.Join(f.sites, ", "), f.message)
		r.Properties = props("citation", f.citation, "sites", strings.Join(f.sites, ","), "rule_datasets", strings.Join(f.datasets, ","))
		out = append(out, r)
	}
	if len(out) == 0 {
		// Refused with neither a problem nor a broken rule: say so rather
		// than pass it.
		r := base
		r.Result, r.Severity = ResultFail, "high"
		r.Message = fmt.Sprintf("%s is refused: %s", j.Object, cmp.Or(rec.Result.Message, rec.Result.Verdict))
		r.Properties = props()
		out = append(out, r)
	}
	return out
}

// brokenRule is one rule refused at one or more of the candidate sites.
type brokenRule struct {
	rule, citation, message string
	sites, datasets         []string
}

// brokenRules groups the violations at the refused candidate sites by rule
// and citation, in the order they first appear, keeping the first site's
// message (as the webhook's answer does).
func brokenRules(rec *admission.Record) []brokenRule {
	d := rec.Result.Decision
	if d == nil {
		return nil
	}
	var out []brokenRule
	for _, sd := range d.Sites {
		if sd.Allowed || !slices.Contains(rec.Result.Candidates, sd.Site) {
			continue
		}
		for _, v := range sd.Violations {
			i := slices.IndexFunc(out, func(b brokenRule) bool { return b.rule == v.Rule && b.citation == v.Citation })
			if i < 0 {
				out = append(out, brokenRule{rule: v.Rule, citation: v.Citation, message: v.Message})
				i = len(out) - 1
			}
			b := &out[i]
			if !slices.Contains(b.sites, sd.Site) {
				b.sites = append(b.sites, sd.Site)
			}
			if v.Dataset != "" && !slices.Contains(b.datasets, v.Dataset) {
				b.datasets = append(b.datasets, v.Dataset)
			}
		}
	}
	return out
}

// rank orders results from the worst: an object is counted in the metrics
// by its worst result.
func rank(result string) int {
	switch result {
	case ResultFail:
		return 0
	case ResultError:
		return 1
	case ResultWarn:
		return 2
	case ResultPass:
		return 3
	}
	return 4
}

// worst is the worst of an object's results.
func worst(rs []Result) string {
	w := ResultSkip
	for _, r := range rs {
		if rank(r.Result) < rank(w) {
			w = r.Result
		}
	}
	return w
}

// maxReportBytes bounds a report's JSON well inside what the API server
// stores in one object (etcd's 1.5 MiB request limit).
const maxReportBytes = 1 << 20

// BuildReport is the PolicyReport of namespace ns from the results of its
// objects, ordered by kind, name and rule. A report over maxReportBytes
// drops its pass results, then its skips, then what does not fit, and says
// how many (OmittedAnnotation); the summary counts them all.
func BuildReport(ns string, results [][]Result) *PolicyReport {
	p := &PolicyReport{
		APIVersion: PolicyReportGVR.GroupVersion().String(),
		Kind:       "PolicyReport",
		Metadata: metav1.ObjectMeta{
			Name: ReportName, Namespace: ns,
			Labels: map[string]string{ManagedByLabel: managedBy},
		},
		Scope: &corev1.ObjectReference{APIVersion: "v1", Kind: "Namespace", Name: ns},
	}
	for _, rs := range results {
		for _, r := range rs {
			p.Summary.add(r.Result)
			p.Results = append(p.Results, r)
		}
	}
	slices.SortStableFunc(p.Results, func(a, b Result) int {
		ra, rb := a.Resources[0], b.Resources[0]
		return cmp.Or(cmp.Compare(ra.Kind, rb.Kind), cmp.Compare(ra.Name, rb.Name), cmp.Compare(a.Rule, b.Rule))
	})
	omitted := 0
	size := func() int {
		b, _ := json.Marshal(p.Results)
		return len(b)
	}
	for _, drop := range []string{ResultPass, ResultSkip} {
		if size() <= maxReportBytes {
			break
		}
		n := len(p.Results)
		p.Results = slices.DeleteFunc(p.Results, func(r Result) bool { return r.Result == drop })
		omitted += n - len(p.Results)
	}
	for size() > maxReportBytes && len(p.Results) > 0 {
		cut := max(1, len(p.Results)/10)
		p.Results = p.Results[:len(p.Results)-cut]
		omitted += cut
	}
	if omitted > 0 {
		p.Metadata.Annotations = map[string]string{OmittedAnnotation: strconv.Itoa(omitted)}
	}
	return p
}

// sameContent reports whether two reports say the same, whenever their
// results were found: a report is written only when what it says changes,
// so replicas judging the same cluster, or a daily run that finds nothing
// new, write nothing.
func sameContent(a, b *PolicyReport) bool {
	if a.Summary != b.Summary || len(a.Results) != len(b.Results) ||
		a.Metadata.Annotations[OmittedAnnotation] != b.Metadata.Annotations[OmittedAnnotation] ||
		a.Metadata.Labels[ManagedByLabel] != b.Metadata.Labels[ManagedByLabel] {
		return false
	}
	strip := func(rs []Result) []byte {
		c := slices.Clone(rs)
		for i := range c {
			c[i].Timestamp = Timestamp{}
		}
		b, _ := json.Marshal(c)
		return b
	}
	return string(strip(a.Results)) == string(strip(b.Results))
}

// Finding is the drift finding of a judged object out of compliance (a fail
// or an error), or false. since is the first judgement in the current
// stretch out of compliance.
func Finding(j Judgement, since time.Time) (drift.Finding, bool) {
	rs := Results(j)
	if w := worst(rs); w != ResultFail && w != ResultError {
		return drift.Finding{}, false
	}
	f := drift.Finding{
		Kind: drift.KindWorkload, Object: j.Object.String(),
		Since: since.UTC().Format(time.DateOnly), SinceBasis: drift.SinceObserved,
	}
	if j.Err != nil || j.Record == nil {
		f.Violations = []engine.Violation{{Rule: CannotJudgeRule, Message: rs[0].Message}}
		return f, true
	}
	rec := j.Record
	f.Datasets = rec.Result.Datasets
	if d := rec.Result.Decision; d != nil {
		f.Tenant = strings.Join(d.Tenants, ",")
	}
	for _, p := range rec.Result.Problems {
		f.Violations = append(f.Violations, engine.Violation{Rule: CannotJudgeRule, Message: p})
	}
	for _, b := range brokenRules(rec) {
		f.Violations = append(f.Violations, engine.Violation{Rule: b.rule, Message: b.message, Citation: b.citation, Dataset: strings.Join(b.datasets, ",")})
		for _, s := range b.sites {
			if !slices.Contains(f.Sites, s) {
				f.Sites = append(f.Sites, s)
			}
		}
	}
	if len(f.Violations) == 0 {
		f.Violations = []engine.Violation{{Rule: CannotJudgeRule, Message: rs[0].Message}}
	}
	return f, true
}
