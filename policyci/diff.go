package policyci

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sovereign-engine/sovereign/drift"
	"github.com/sovereign-engine/sovereign/engine"
)

// Verdict changes of a site (placement) or a transfer.
const (
	AllowedToDenied = "allowed→denied"
	DeniedToAllowed = "denied→allowed"
)

// Change is one decision that differs between base and head: for a placement
// one candidate site, for a transfer the transfer itself.
type Change struct {
	// Request identifies the request: "scenario FILE:LINE" or "log #INDEX".
	Request string `json:"request"`
	Source  string `json:"source"` // scenario | replay
	// Label says what was asked ("placement of customer-pii-eu (store)").
	Label string `json:"label"`
	Kind  string `json:"kind"`
	Site  string `json:"site,omitempty"` // the candidate, for a placement
	// Verdict is AllowedToDenied, DeniedToAllowed, or empty when only the
	// reasons changed.
	Verdict            string   `json:"verdict,omitempty"`
	ViolationsAdded    []string `json:"violations_added,omitempty"`
	ViolationsRemoved  []string `json:"violations_removed,omitempty"`
	ObligationsAdded   []string `json:"obligations_added,omitempty"`
	ObligationsRemoved []string `json:"obligations_removed,omitempty"`
	WarningsAdded      []string `json:"warnings_added,omitempty"`
	WarningsRemoved    []string `json:"warnings_removed,omitempty"`
	// BaseError and HeadError are set when a side could not decide.
	BaseError string `json:"base_error,omitempty"`
	HeadError string `json:"head_error,omitempty"`
}

// DiffCounts sum a diff.
type DiffCounts struct {
	Requests           int `json:"requests"`            // evaluated under both
	RequestsChanged    int `json:"requests_changed"`    // with at least one change
	Decisions          int `json:"decisions"`           // site decisions of placements + transfers
	AllowedToDenied    int `json:"allowed_to_denied"`   // site decisions or transfers
	DeniedToAllowed    int `json:"denied_to_allowed"`   // site decisions or transfers
	ViolationsAdded    int `json:"violations_added"`    // rule ids, summed over decisions
	ViolationsRemoved  int `json:"violations_removed"`  //
	ObligationsAdded   int `json:"obligations_added"`   //
	ObligationsRemoved int `json:"obligations_removed"` //
	WarningsAdded      int `json:"warnings_added"`      //
	WarningsRemoved    int `json:"warnings_removed"`    //
	Errors             int `json:"errors"`              // requests a side could not decide
}

// DiffResult is every decision that changes between two policies.
type DiffResult struct {
	Base    PolicySource `json:"base"`
	Head    PolicySource `json:"head"`
	Counts  DiffCounts   `json:"counts"`
	Changes []Change     `json:"changes"`
	// Scenarios is how many scenario requests were compared.
	Scenarios int `json:"scenarios"`
	// Replay describes the replayed audit log, if any.
	Replay *ReplaySummary `json:"replay,omitempty"`
	// Drift is where data is today judged under both (DiffOptions.Drift).
	Drift *DiffDrift `json:"drift,omitempty"`
}

// DiffDrift is an inventory's current state (its current: list, what is
// stored and moving today) judged under base and head on one day: what head
// refuses that base allows (Breaks) and the reverse (Clears), and how much
// is out of compliance under each.
type DiffDrift struct {
	Inventory         string          `json:"inventory"`
	InventoryRevision string          `json:"inventory_revision"`
	At                string          `json:"at"`
	Checked           drift.Counts    `json:"checked"`
	OutOfCompliance   DriftSides      `json:"out_of_compliance"`
	Breaks            []drift.Finding `json:"breaks"`
	Clears            []drift.Finding `json:"clears"`
}

// DriftSides counts what is out of compliance under each policy.
type DriftSides struct {
	Base int `json:"base"`
	Head int `json:"head"`
}

// DriftOptions ask Diff to judge an inventory's current state under both
// policies.
type DriftOptions struct {
	// Inventory is the inventory directory, with its current: state.
	Inventory string
	// At is the day judged; zero means now.
	At time.Time
}

// outcome is a request decided under one policy.
type outcome struct {
	decision *engine.Decision
	err      error
}

// compared is one request decided under both policies.
type compared struct {
	request, source, label, kind string
	base, head                   outcome
}

// add compares the two outcomes of a request and records its changes.
func (r *DiffResult) add(c compared) {
	r.Counts.Requests++
	changes := compareOutcomes(c)
	if len(changes) > 0 {
		r.Counts.RequestsChanged++
	}
	if c.base.err != nil || c.head.err != nil {
		r.Counts.Errors++
	} else if c.kind == engine.KindPlacement {
		r.Counts.Decisions += len(c.head.decision.Sites)
	} else {
		r.Counts.Decisions++
	}
	for _, ch := range changes {
		switch ch.Verdict {
		case AllowedToDenied:
			r.Counts.AllowedToDenied++
		case DeniedToAllowed:
			r.Counts.DeniedToAllowed++
		}
		r.Counts.ViolationsAdded += len(ch.ViolationsAdded)
		r.Counts.ViolationsRemoved += len(ch.ViolationsRemoved)
		r.Counts.ObligationsAdded += len(ch.ObligationsAdded)
		r.Counts.ObligationsRemoved += len(ch.ObligationsRemoved)
		r.Counts.WarningsAdded += len(ch.WarningsAdded)
		r.Counts.WarningsRemoved += len(ch.WarningsRemoved)
	}
	r.Changes = append(r.Changes, changes...)
}

func compareOutcomes(c compared) []Change {
	base := Change{Request: c.request, Source: c.source, Label: c.label, Kind: c.kind}
	if c.base.err != nil || c.head.err != nil {
		if c.base.err != nil && c.head.err != nil && c.base.err.Error() == c.head.err.Error() {
			return nil // the request is bad under both: nothing changed
		}
		if c.base.err != nil {
			base.BaseError = c.base.err.Error()
		}
		if c.head.err != nil {
			base.HeadError = c.head.err.Error()
		}
		return []Change{base}
	}
	b, h := c.base.decision, c.head.decision
	if c.kind == engine.KindTransfer {
		ch := diffVerdict(base, b.Allowed, h.Allowed, b.Violations, h.Violations, b.Obligations, h.Obligations, b.Warnings, h.Warnings)
		if ch == nil {
			return nil
		}
		return []Change{*ch}
	}
	baseSites := make(map[string]engine.SiteDecision, len(b.Sites))
	for _, s := range b.Sites {
		baseSites[s.Site] = s
	}
	var out []Change
	// Candidates are the request's, so both sides have the same sites; keep
	// the head's order (allowed first, ranked).
	for _, hs := range h.Sites {
		bs, ok := baseSites[hs.Site]
		if !ok {
			continue
		}
		base.Site = hs.Site
		if ch := diffVerdict(base, bs.Allowed, hs.Allowed, bs.Violations, hs.Violations, bs.Obligations, hs.Obligations, bs.Warnings, hs.Warnings); ch != nil {
			out = append(out, *ch)
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		switch {
		case a.Site < b.Site:
			return -1
		case a.Site > b.Site:
			return 1
		}
		return 0
	})
	return out
}

func diffVerdict(ch Change, bAllowed, hAllowed bool, bv, hv, bo, ho, bw, hw []engine.Violation) *Change {
	switch {
	case bAllowed && !hAllowed:
		ch.Verdict = AllowedToDenied
	case !bAllowed && hAllowed:
		ch.Verdict = DeniedToAllowed
	}
	ch.ViolationsAdded, ch.ViolationsRemoved = setDiff(engine.RuleIDs(bv), engine.RuleIDs(hv))
	ch.ObligationsAdded, ch.ObligationsRemoved = setDiff(engine.RuleIDs(bo), engine.RuleIDs(ho))
	ch.WarningsAdded, ch.WarningsRemoved = setDiff(engine.RuleIDs(bw), engine.RuleIDs(hw))
	if ch.Verdict == "" && len(ch.ViolationsAdded)+len(ch.ViolationsRemoved)+len(ch.ObligationsAdded)+len(ch.ObligationsRemoved)+len(ch.WarningsAdded)+len(ch.WarningsRemoved) == 0 {
		return nil
	}
	return &ch
}

// setDiff returns what head adds to base and what it removes (both sorted).
func setDiff(base, head []string) (added, removed []string) {
	for _, h := range head {
		if _, found := slices.BinarySearch(base, h); !found {
			added = append(added, h)
		}
	}
	for _, b := range base {
		if _, found := slices.BinarySearch(head, b); !found {
			removed = append(removed, b)
		}
	}
	return added, removed
}

// FailOn values: which changes fail a diff (exit code 1).
const (
	FailOnNone            = "none"
	FailOnDeniedToAllowed = "denied-to-allowed"
	FailOnAny             = "any"
)

// Fails reports whether the diff has a change that failOn counts.
func (r *DiffResult) Fails(failOn string) bool {
	switch failOn {
	case FailOnAny:
		return len(r.Changes) > 0 || (r.Drift != nil && len(r.Drift.Breaks)+len(r.Drift.Clears) > 0)
	case FailOnDeniedToAllowed:
		return r.Counts.DeniedToAllowed > 0 || (r.Drift != nil && len(r.Drift.Clears) > 0)
	default:
		return false
	}
}

// DiffOptions configure Diff.
type DiffOptions struct {
	// Base and Head name the policies: bundle files, directories or git refs
	// of the repository at Repo (see LoadPolicySpec), with PolicyDir the
	// policy directory inside it.
	Base, Head string
	Repo       string
	PolicyDir  string
	// Scenarios are directories of golden scenario files whose requests are
	// decided under both, each on its own inventory; InventoryRoot as for
	// TestOptions.
	Scenarios     []string
	InventoryRoot string
	// Replay, if set, replays decisions from an audit log (see ReplayOptions).
	Replay *ReplayOptions
	// Drift, if set, judges an inventory's current state under both.
	Drift *DriftOptions
}

// Diff decides the same requests under base and head and reports every
// decision that differs. Nothing is written anywhere: it is an offline
// evaluation, as `sovereign eval` is.
func Diff(ctx context.Context, o DiffOptions) (*DiffResult, error) {
	if len(o.Scenarios) == 0 && o.Replay == nil && o.Drift == nil {
		return nil, errors.New("diff: give --scenarios DIR, --replay LOG or --drift INVENTORY: there is nothing to compare on")
	}
	var driftInv *engine.Inventory
	if o.Drift != nil {
		// A bad inventory is refused before any policy is compiled.
		inv, err := engine.LoadInventory(o.Drift.Inventory)
		if err != nil {
			return nil, fmt.Errorf("diff: --drift %s:\n%w", o.Drift.Inventory, err)
		}
		if len(inv.Current) == 0 {
			return nil, fmt.Errorf("diff: --drift %s: the inventory states no current: state (docs/drift.md): there is nothing to judge", o.Drift.Inventory)
		}
		driftInv = inv
	}
	if o.Repo == "" {
		o.Repo = "."
	}
	if o.PolicyDir == "" {
		o.PolicyDir = "policies"
	}
	var scenarioFiles []*engine.ScenarioFile
	for _, dir := range o.Scenarios {
		files, err := engine.LoadScenarios(dir)
		if err != nil {
			return nil, fmt.Errorf("diff: %w", err)
		}
		scenarioFiles = append(scenarioFiles, files...)
	}
	// Compiling a policy is most of a small diff's time: both at once.
	var basePolicy, headPolicy *engine.Policy
	var baseSrc, headSrc PolicySource
	var baseErr, headErr error
	var wg sync.WaitGroup
	wg.Go(func() { basePolicy, baseSrc, baseErr = LoadPolicySpec(ctx, o.Base, o.Repo, o.PolicyDir) })
	headPolicy, headSrc, headErr = LoadPolicySpec(ctx, o.Head, o.Repo, o.PolicyDir)
	wg.Wait()
	if baseErr != nil {
		return nil, fmt.Errorf("diff: --base %w", baseErr)
	}
	if headErr != nil {
		return nil, fmt.Errorf("diff: --head %w", headErr)
	}
	res := &DiffResult{Base: baseSrc, Head: headSrc, Changes: []Change{}}

	baseRunner := engine.NewScenarioRunner(basePolicy, engine.ScenarioOptions{InventoryRoot: o.InventoryRoot})
	headRunner := engine.NewScenarioRunner(headPolicy, engine.ScenarioOptions{InventoryRoot: o.InventoryRoot})
	for _, sf := range scenarioFiles {
		for i := range sf.Scenarios {
			sc := &sf.Scenarios[i]
			b := baseRunner.Run(ctx, sf, sc)
			h := headRunner.Run(ctx, sf, sc)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			res.Scenarios++
			res.add(compared{
				request: fmt.Sprintf("scenario %s:%d", filepath.ToSlash(sf.Path), sc.Line),
				source:  "scenario",
				label:   sc.Name,
				kind:    b.Kind,
				base:    scenarioOutcome(b),
				head:    scenarioOutcome(h),
			})
		}
	}
	if o.Replay != nil {
		if err := replay(ctx, *o.Replay, basePolicy, headPolicy, res); err != nil {
			return nil, err
		}
	}
	if o.Drift != nil {
		d, err := diffDrift(ctx, *o.Drift, driftInv, basePolicy, headPolicy)
		if err != nil {
			return nil, err
		}
		res.Drift = d
	}
	return res, nil
}

// diffDrift judges inv's current state under base, comparing with head.
func diffDrift(ctx context.Context, o DriftOptions, inv *engine.Inventory, base, head *engine.Policy) (*DiffDrift, error) {
	be, err := engine.New(ctx, base, inv)
	if err != nil {
		return nil, fmt.Errorf("diff: --drift under --base: %w", err)
	}
	he, err := engine.New(ctx, head, inv)
	if err != nil {
		return nil, fmt.Errorf("diff: --drift under --head: %w", err)
	}
	r, err := drift.Run(ctx, drift.Options{Engine: be, Compare: he, At: o.At, MaxSearch: 1})
	if err != nil {
		return nil, fmt.Errorf("diff: --drift: %w", err)
	}
	d := &DiffDrift{Inventory: filepath.ToSlash(o.Inventory), InventoryRevision: r.InventoryRevision, At: r.EvaluatedAt[:len(time.DateOnly)],
		Checked: r.Checked, Breaks: r.Change.Breaks, Clears: r.Change.Clears}
	d.OutOfCompliance.Base = len(r.OutOfCompliance)
	d.OutOfCompliance.Head = d.OutOfCompliance.Base + len(d.Breaks) - len(d.Clears)
	return d, nil
}

// scenarioOutcome is a scenario's decision, or why there is none: an error,
// or the server's refusal of a request the scenario expects to be refused
// (no decision and no error), which compares as an error message so that a
// request refused under both policies is no change.
func scenarioOutcome(r engine.ScenarioResult) outcome {
	if r.Decision == nil && r.Err == nil {
		msgs := make([]string, len(r.Refused))
		for i, p := range r.Refused {
			msgs[i] = p.String()
		}
		return outcome{err: fmt.Errorf("refused (422): %s", strings.Join(msgs, "; "))}
	}
	return outcome{r.Decision, r.Err}
}
