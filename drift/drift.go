// Package drift judges where data is today (the inventory's current state:
// stored copies and running flows) under the policy and date in force, and
// says what is out of compliance and since when, what will fall out of
// compliance by a date, and what a new bundle would break (docs/drift.md).
// Every judgement is an engine decision: a stored copy is the placement
// question "may this dataset be stored at this site", a flow the transfer
// question it would be; nothing here knows a rule.
package drift

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
)

// Kinds of item drift judges.
const (
	KindStored = "stored"
	KindFlow   = "flow"
	// KindWorkload is a workload of a Kubernetes cluster, judged by the
	// background audit (package kubeaudit) as its admission would be.
	KindWorkload = "workload"
)

// Bases of a Finding's Since.
const (
	// SinceChange: compliant the day before Since; Because says what changed.
	SinceChange = "change"
	// SinceStored: out of compliance from the first day of the copy or flow
	// (its `since` in the inventory).
	SinceStored = "stored"
	// SinceAtLeast: already out of compliance on the earliest day searched;
	// it may have been longer.
	SinceAtLeast = "at_least"
	// SinceObserved: a workload the background audit has found out of
	// compliance on every judgement since Since; it may have been longer.
	SinceObserved = "observed"
)

// DefaultMaxSearch bounds the evaluations spent looking back for when one
// item fell out of compliance; past it, Since is reported as "at least".
const DefaultMaxSearch = 64

// Options say what to judge and when.
type Options struct {
	// Engine decides under the active bundle and inventory; required.
	Engine *engine.Engine
	// At is the time judged "now"; zero means time.Now.
	At time.Time
	// Until, when set, asks for a forecast: what falls out of compliance
	// after At up to and including this day.
	Until time.Time
	// Compare, when set, decides the same current state under another bundle
	// (on the same inventory) for Report.Change.
	Compare *engine.Engine
	// Tenant, when set, limits the report to that tenant's datasets.
	Tenant string
	// MaxSearch bounds the look back per item; default DefaultMaxSearch.
	MaxSearch int
	// Progress, when set, is called as items are judged (from several
	// goroutines): done of total, over every pass of the run.
	Progress func(done, total int)
}

// Report is what drift found.
type Report struct {
	EvaluatedAt       string            `json:"evaluated_at"`
	Until             string            `json:"until,omitempty"`
	Tenant            string            `json:"tenant,omitempty"`
	Bundle            engine.BundleInfo `json:"bundle"`
	InventoryRevision string            `json:"inventory_revision"`
	Checked           Counts            `json:"checked"`
	// OutOfCompliance lists the stored copies and flows the active bundle
	// refuses now.
	OutOfCompliance []Finding `json:"out_of_compliance"`
	// Forecast lists those compliant now that are refused on a day up to
	// Until (present when Until is).
	Forecast []Finding `json:"forecast,omitempty"`
	// Change compares with another bundle (present when asked).
	Change *Change `json:"change,omitempty"`
}

// Counts are how many stored copies and flows were judged.
type Counts struct {
	Datasets int `json:"datasets"`
	Stored   int `json:"stored"`
	Flows    int `json:"flows"`
	// Workloads are the cluster's workloads the background audit judged
	// (GET /v1/drift of a server run with --kube-audit).
	Workloads int `json:"workloads,omitempty"`
}

// Change is the current state judged under another bundle.
type Change struct {
	Bundle engine.BundleInfo `json:"bundle"`
	// Breaks lists what is compliant under the active bundle and refused
	// under the other; Clears the reverse.
	Breaks []Finding `json:"breaks"`
	Clears []Finding `json:"clears"`
}

// Finding is one stored copy, flow or workload and the policy's verdict on
// it.
type Finding struct {
	Kind    string `json:"kind"`
	Dataset string `json:"dataset,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	// Object is a workload's "Kind namespace/name", Datasets what it
	// declares and Sites the sites it could land at that are refused.
	Object   string   `json:"object,omitempty"`
	Datasets []string `json:"datasets,omitempty"`
	Sites    []string `json:"sites,omitempty"`
	// Site is a stored copy's site; From, To and Type a flow's.
	Site string `json:"site,omitempty"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	Type string `json:"type,omitempty"`
	// Violations are the rules that refuse it, with their citations.
	Violations []engine.Violation `json:"violations"`
	// Since is the first day of the current stretch out of compliance, and
	// SinceBasis how it is known (SinceChange, SinceStored, SinceAtLeast).
	Since      string `json:"since,omitempty"`
	SinceBasis string `json:"since_basis,omitempty"`
	// On is a forecast's first day out of compliance.
	On string `json:"on,omitempty"`
	// Because lists the dated changes that take effect on Since or On.
	Because []string `json:"because,omitempty"`
}

// Rules are the finding's rule ids, in order, once each.
func (f *Finding) Rules() []string {
	var out []string
	for _, v := range f.Violations {
		if !slices.Contains(out, v.Rule) {
			out = append(out, v.Rule)
		}
	}
	return out
}

// item is one stored copy or flow to judge.
type item struct {
	kind, dataset, tenant string
	site                  string
	flow                  engine.Flow
	since                 string // from the inventory; "" when not stated
}

func (it *item) sites() []string {
	if it.kind == KindStored {
		return []string{it.site}
	}
	return []string{it.flow.From, it.flow.To}
}

func (it *item) finding(vs []engine.Violation) Finding {
	f := Finding{Kind: it.kind, Dataset: it.dataset, Tenant: it.tenant, Violations: vs}
	if it.kind == KindStored {
		f.Site = it.site
	} else {
		f.From, f.To, f.Type = it.flow.From, it.flow.To, it.flow.Type
	}
	if f.Violations == nil {
		f.Violations = []engine.Violation{}
	}
	return f
}

// Run judges the inventory's current state.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Engine == nil {
		return nil, errors.New("drift: an engine is required")
	}
	at := o.At
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	today := at.Format(time.DateOnly)
	if o.MaxSearch <= 0 {
		o.MaxSearch = DefaultMaxSearch
	}
	// One policy and inventory for the whole run, even if the engine
	// activates others meanwhile.
	inv := o.Engine.Inventory()
	pol := o.Engine.Policy()
	j := &judge{eng: o.Engine, inv: inv}
	r := &Report{
		EvaluatedAt: at.Format(time.RFC3339), Tenant: o.Tenant,
		Bundle: pol.Info(), InventoryRevision: inv.Revision,
		OutOfCompliance: []Finding{},
	}
	items := currentItems(inv, o.Tenant, r)
	policies := []*engine.Policy{pol}
	if o.Compare != nil {
		policies = append(policies, o.Compare.Policy())
	}
	tl := newTimeline(policies, inv)
	passes := 1
	if !o.Until.IsZero() {
		passes++
	}
	if o.Compare != nil {
		passes++
	}
	var done atomic.Int64
	progress := func() {
		if o.Progress != nil {
			o.Progress(int(done.Add(1)), passes*len(items))
		}
	}

	now := make([][]engine.Violation, len(items))
	out := make([]*Finding, len(items))
	err := each(ctx, len(items), func(ctx context.Context, i int) error {
		defer progress()
		vs, err := j.violations(ctx, &items[i], at)
		if err != nil || len(vs) == 0 {
			return err
		}
		now[i] = vs
		f := items[i].finding(vs)
		if err := j.since(ctx, &f, &items[i], tl, today, o.MaxSearch); err != nil {
			return err
		}
		out[i] = &f
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range out {
		if f != nil {
			r.OutOfCompliance = append(r.OutOfCompliance, *f)
		}
	}

	if !o.Until.IsZero() {
		until := o.Until.UTC().Format(time.DateOnly)
		if until <= today {
			return nil, fmt.Errorf("drift: until %s is not after the evaluation date %s", until, today)
		}
		r.Until = until
		fc, err := j.forecast(ctx, items, now, tl, today, until, progress)
		if err != nil {
			return nil, err
		}
		r.Forecast = fc
	}

	if o.Compare != nil {
		if o.Compare.Inventory().Revision != inv.Revision {
			return nil, errors.New("drift: the bundle to compare must be decided on the same inventory")
		}
		c := &Change{Bundle: o.Compare.Policy().Info(), Breaks: []Finding{}, Clears: []Finding{}}
		other := &judge{eng: o.Compare, inv: inv}
		next := make([][]engine.Violation, len(items))
		err := each(ctx, len(items), func(ctx context.Context, i int) error {
			defer progress()
			var err error
			next[i], err = other.violations(ctx, &items[i], at)
			return err
		})
		if err != nil {
			return nil, err
		}
		for i, vs := range next {
			switch {
			case len(vs) > 0 && len(now[i]) == 0:
				c.Breaks = append(c.Breaks, items[i].finding(vs))
			case len(vs) == 0 && len(now[i]) > 0:
				c.Clears = append(c.Clears, items[i].finding(now[i]))
			}
		}
		r.Change = c
	}
	return r, nil
}

// currentItems lists the stored copies and flows of the current state, in
// dataset order, and counts them.
func currentItems(inv *engine.Inventory, tenant string, r *Report) []item {
	var items []item
	for _, st := range inv.Current {
		ds := inv.Datasets[st.Dataset]
		if tenant != "" && ds.Tenant != tenant {
			continue
		}
		r.Checked.Datasets++
		for _, s := range st.StoredAt {
			items = append(items, item{kind: KindStored, dataset: st.Dataset, tenant: ds.Tenant, site: s.Site, since: s.Since})
			r.Checked.Stored++
		}
		for _, f := range st.Flows {
			items = append(items, item{kind: KindFlow, dataset: st.Dataset, tenant: ds.Tenant, flow: f, since: f.Since})
			r.Checked.Flows++
		}
	}
	return items
}

// judge asks one engine about items.
type judge struct {
	eng *engine.Engine
	inv *engine.Inventory
}

// violations decides an item at a time; none means compliant.
func (j *judge) violations(ctx context.Context, it *item, at time.Time) ([]engine.Violation, error) {
	ts := at.UTC().Format(time.RFC3339)
	var d *engine.Decision
	var err error
	if it.kind == KindStored {
		d, err = j.eng.Placement(ctx, &engine.PlacementRequest{
			Dataset: &engine.DatasetRef{ID: it.dataset}, Operation: engine.OperationStore,
			Candidates: []string{it.site}, At: ts,
		})
	} else {
		d, err = j.eng.Transfer(ctx, &engine.TransferRequest{
			Dataset: &engine.DatasetRef{ID: it.dataset}, From: it.flow.From, To: it.flow.To,
			Type: it.flow.Type, Frequency: it.flow.Frequency, Mechanism: it.flow.Mechanism, At: ts,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("drift: %s %s: %w", it.dataset, describe(it), err)
	}
	if d.Allowed {
		return nil, nil
	}
	if it.kind == KindStored {
		if len(d.Sites) != 1 || len(d.Sites[0].Violations) == 0 {
			return nil, fmt.Errorf("drift: %s %s: %w: a refusal without a violation", it.dataset, describe(it), engine.ErrPolicy)
		}
		return d.Sites[0].Violations, nil
	}
	if len(d.Violations) == 0 {
		return nil, fmt.Errorf("drift: %s %s: %w: a refusal without a violation", it.dataset, describe(it), engine.ErrPolicy)
	}
	return d.Violations, nil
}

func describe(it *item) string {
	if it.kind == KindStored {
		return "stored at " + it.site
	}
	return fmt.Sprintf("%s flow %s -> %s", it.flow.Type, it.flow.From, it.flow.To)
}

// each calls fn(ctx, i) for every i in [0, n) on up to GOMAXPROCS
// goroutines (the engine decides concurrently); the first error cancels the
// rest and is returned.
func each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// dayStart is midnight UTC of a date.
func dayStart(d string) time.Time {
	t, _ := time.Parse(time.DateOnly, d)
	return t
}

// since finds the first day of the stretch out of compliance that includes
// today: it walks back over the change dates that bear on the item,
// deciding the day before each,
// until a day is compliant, the item's own start is reached, or the search
// bound is spent. Decisions are constant between change dates, so the
// answer is exact unless it says "at least".
func (j *judge) since(ctx context.Context, f *Finding, it *item, tl *timeline, today string, max int) error {
	dates := tl.within("", today)
	earliest := today
	for k := len(dates) - 1; k >= 0; k-- {
		b := dates[k]
		if it.since != "" && b <= it.since {
			break
		}
		if !tl.bears(b, it) {
			continue
		}
		if max == 0 {
			f.Since, f.SinceBasis = earliest, SinceAtLeast
			return nil
		}
		max--
		vs, err := j.violations(ctx, it, dayStart(dayBefore(b)))
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			f.Since, f.SinceBasis, f.Because = b, SinceChange, tl.why(b, it)
			return nil
		}
		earliest = dayBefore(b)
	}
	if it.since != "" {
		f.Since, f.SinceBasis = it.since, SinceStored
		return nil
	}
	f.Since, f.SinceBasis = earliest, SinceAtLeast
	return nil
}

// forecast decides the items compliant today on each change date up to
// until (and on until itself, which catches a change no date names) and
// lists each on the first day it is refused.
func (j *judge) forecast(ctx context.Context, items []item, now [][]engine.Violation, tl *timeline, today, until string, progress func()) ([]Finding, error) {
	dates := tl.within(today, until)
	if !slices.Contains(dates, until) {
		dates = append(slices.Clone(dates), until)
	}
	found := make([]*Finding, len(items))
	err := each(ctx, len(items), func(ctx context.Context, i int) error {
		defer progress()
		if len(now[i]) > 0 {
			return nil
		}
		for _, d := range dates {
			if (items[i].since != "" && d < items[i].since) || (d != until && !tl.bears(d, &items[i])) {
				continue
			}
			vs, err := j.violations(ctx, &items[i], dayStart(d))
			if err != nil {
				return err
			}
			if len(vs) > 0 {
				f := items[i].finding(vs)
				f.On, f.Because = d, tl.why(d, &items[i])
				found[i] = &f
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := []Finding{}
	for _, f := range found {
		if f != nil {
			out = append(out, *f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		if a.On < b.On {
			return -1
		}
		if a.On > b.On {
			return 1
		}
		return 0
	})
	return out, nil
}
