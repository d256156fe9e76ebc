package policyci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/engine"
)

// ReplayOptions say which logged decisions Diff replays.
type ReplayOptions struct {
	// Log is the log replayed and what it must verify against; the summary
	// names it by its Location.
	Log *audit.TrustedLog
	// From and To bound the records' times: [From, To); zero means open.
	From, To time.Time
	// FullVerify runs audit.VerifyLog over the whole log first, as `audit
	// verify` does; otherwise the records read are verified (signature, and
	// the window of entries proven against the signed checkpoint), as `audit
	// export` does by default.
	FullVerify bool
	// Inventory is the directory of the inventory the requests are decided
	// on, under both policies.
	Inventory string
	// At, if set, decides every request as of that time instead of the time
	// it was decided: "what would these real requests get now". Identical
	// requests are then decided once; no recorded outcome stands for base's.
	At time.Time
	// Workers evaluate in parallel (default GOMAXPROCS).
	Workers int
	// ReevaluateBase decides every request under base, even one the log
	// shows was decided by the base bundle (same digest) on the same
	// inventory revision by the same engine version, whose recorded outcome
	// is otherwise taken as base's: then Reproduced and NotReproduced say
	// whether replay gives what was recorded.
	ReevaluateBase bool
}

// ReplaySummary describes what a replay read.
type ReplaySummary struct {
	Log          string    `json:"log"`
	Origin       string    `json:"origin"`
	TreeSize     uint64    `json:"tree_size"`
	Verification string    `json:"verification"` // full | window
	FirstIndex   uint64    `json:"first_index"`
	EndIndex     uint64    `json:"end_index"`
	From         time.Time `json:"from,omitzero"`
	To           time.Time `json:"to,omitzero"`
	// Records is how many records the window held; Decisions how many of
	// them were placement or transfer decisions in [From, To) and replayed.
	Records   int `json:"records"`
	Decisions int `json:"decisions"`
	// At is the time every request was decided as of, if one was given.
	At time.Time `json:"at,omitzero"`
	// Evaluations is how many policy evaluations the replay ran: identical
	// requests decided at the same time are evaluated once per policy.
	Evaluations int `json:"evaluations"`
	// ByDate is true when both policies provably read the decision time only
	// as its date (DateOnly): identical requests of one UTC day are then
	// evaluated once. TimeUse says why not, otherwise.
	ByDate  bool   `json:"by_date"`
	TimeUse string `json:"time_use,omitempty"`
	// Skipped counts decisions that could not be replayed, by reason
	// (a redacted request, a request this engine no longer decodes).
	Skipped map[string]int `json:"skipped,omitempty"`
	// Inventory is the revision replayed on; OtherInventory counts decisions
	// that were made on another revision (their outcome may differ for that
	// reason alone, under base and head alike).
	Inventory      string `json:"inventory_revision"`
	OtherInventory int    `json:"decided_on_other_inventory"`
	// BaseFromLog counts decisions whose base outcome is the recorded one:
	// made by the base bundle (same digest) on the replayed inventory
	// revision by this engine version, so deciding them again under base
	// would only repeat the computation the log holds, signed.
	BaseFromLog int `json:"base_from_log"`
	// With ReevaluateBase, Reproduced and NotReproduced count such decisions
	// whose replay under base gives the recorded verdicts and rule ids, or
	// not: a check that replay is faithful.
	Reproduced    int `json:"reproduced"`
	NotReproduced int `json:"not_reproduced"`
}

// replayJob is one logged decision to decide again.
type replayJob struct {
	index     uint64
	kind      string
	label     string
	placement *engine.PlacementRequest
	transfer  *engine.TransferRequest
	// recorded is the logged outcome when base made it (see BaseFromLog);
	// fromLog says to use it rather than decide again.
	recorded *engine.Decision
	fromLog  bool
	// otherInventory: the decision was made on another inventory revision.
	otherInventory bool
	base           outcome
	head           outcome
	// key identifies the request as decided (kind, request with its time);
	// a request decided before under the same key takes that outcome
	// (baseOf, headOf) instead of being decided again.
	key            string
	baseOf, headOf *replayJob
	evalBase       bool
	evalHead       bool
}

func replay(ctx context.Context, o ReplayOptions, basePolicy, headPolicy *engine.Policy, res *DiffResult) error {
	r, err := newReplayer(ctx, o, basePolicy, headPolicy)
	if err != nil {
		return err
	}
	cp, err := r.findWindow(ctx)
	if err != nil {
		return err
	}
	all, err := r.decide(ctx, cp)
	if err != nil {
		return err
	}
	r.compare(all, res)
	return nil
}

// replayer replays the decisions of one log under two policies.
type replayer struct {
	o                      ReplayOptions
	basePolicy             *engine.Policy
	inv                    *engine.Inventory
	baseEngine, headEngine *engine.Engine
	sum                    *ReplaySummary
	// firstBase and firstHead hold, by key, the first job of identical
	// requests decided at the same time: each is evaluated once per policy.
	firstBase, firstHead map[string]*replayJob
}

// newReplayer checks the options and makes the engines of both policies on
// the replayed inventory.
func newReplayer(ctx context.Context, o ReplayOptions, basePolicy, headPolicy *engine.Policy) (*replayer, error) {
	if err := o.Log.Validate(); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if !o.From.IsZero() && !o.To.IsZero() && !o.From.Before(o.To) {
		return nil, fmt.Errorf("replay: --from %s is not before --to %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if o.Inventory == "" {
		return nil, errors.New("replay: an inventory is required")
	}
	inv, err := engine.LoadInventory(o.Inventory)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	baseEngine, err := engine.New(ctx, basePolicy, inv)
	if err != nil {
		return nil, fmt.Errorf("replay: base: %w", err)
	}
	headEngine, err := engine.New(ctx, headPolicy, inv)
	if err != nil {
		return nil, fmt.Errorf("replay: head: %w", err)
	}
	sum := &ReplaySummary{Log: o.Log.Location, Verification: "window", From: o.From, To: o.To, At: o.At, Inventory: inv.Revision, Skipped: map[string]int{}}
	if o.At.IsZero() {
		baseOK, baseWhy := engine.DateOnly(basePolicy.Modules())
		headOK, headWhy := engine.DateOnly(headPolicy.Modules())
		sum.ByDate = baseOK && headOK
		switch {
		case !baseOK:
			sum.TimeUse = "base: " + baseWhy
		case !headOK:
			sum.TimeUse = "head: " + headWhy
		}
	}
	return &replayer{o: o, basePolicy: basePolicy, inv: inv, baseEngine: baseEngine, headEngine: headEngine, sum: sum,
		firstBase: map[string]*replayJob{}, firstHead: map[string]*replayJob{}}, nil
}

// findWindow trusts the log's checkpoint and finds the index window of the
// period [From, To), widened by the skew.
func (r *replayer) findWindow(ctx context.Context) (*audit.Checkpoint, error) {
	o, sum := r.o, r.sum
	cp, err := o.Log.Checkpoint(ctx, o.FullVerify)
	if err != nil {
		// A checkpoint that cannot be read or does not verify is named as
		// such; a log that fails full verification, or a checkpoint a
		// witness did not cosign, as a log that does not verify.
		var ve *audit.VerifyError
		if !o.FullVerify && errors.As(err, &ve) && ve.What == audit.FailCheckpoint {
			return nil, fmt.Errorf("replay: checkpoint: %w", ve.Err)
		}
		return nil, fmt.Errorf("replay: the log does not verify: %w", err)
	}
	if o.FullVerify {
		sum.Verification = "full"
	}
	sum.Origin, sum.TreeSize = cp.Origin, cp.Size
	lo, hi := uint64(0), cp.Size
	if !o.From.IsZero() {
		first, err := audit.FindIndexByTime(ctx, o.Log.Source, cp.Size, o.From.Add(-audit.DefaultTimeSkew))
		if err != nil {
			return nil, fmt.Errorf("replay: finding %s: %w", o.From.Format(time.RFC3339), err)
		}
		lo = first
	}
	if !o.To.IsZero() {
		end, err := audit.FindIndexByTime(ctx, o.Log.Source, cp.Size, o.To.Add(audit.DefaultTimeSkew))
		if err != nil {
			return nil, fmt.Errorf("replay: finding %s: %w", o.To.Format(time.RFC3339), err)
		}
		hi = max(end, lo)
	}
	sum.FirstIndex, sum.EndIndex = lo, hi
	return cp, nil
}

// decide scans the window of cp and decides each logged decision under
// both policies on the workers, identical ones once; it returns the jobs in
// index order once all are decided.
func (r *replayer) decide(ctx context.Context, cp *audit.Checkpoint) ([]*replayJob, error) {
	o, sum := r.o, r.sum
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan *replayJob, 4*workers)
	var wg sync.WaitGroup
	evalCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				if j.evalBase {
					j.base = decideJob(evalCtx, r.baseEngine, j)
				}
				if j.evalHead {
					j.head = decideJob(evalCtx, r.headEngine, j)
				}
			}
		})
	}
	var all []*replayJob
	// Requests are decoded in the scan's workers, on every core; records
	// that are not decisions are not decoded at all.
	byDate := sum.ByDate
	decode := func(e *audit.VerifiedEntry) (decodedJob, error) {
		if e.Kind != audit.KindPlacement && e.Kind != audit.KindTransfer {
			return decodedJob{}, nil
		}
		j, skip, err := jobFor(e, o, r.basePolicy, r.inv, byDate)
		return decodedJob{j, skip}, err
	}
	scanErr := audit.ScanWindow(ctx, o.Log, cp, sum.FirstIndex, sum.EndIndex, decode, func(_ *audit.VerifiedEntry, d decodedJob) error {
		sum.Records++
		if d.skip != "" {
			sum.Skipped[d.skip]++
			return nil
		}
		j := d.job
		if j == nil {
			return nil
		}
		all = append(all, j)
		if !r.schedule(j) {
			return nil
		}
		select {
		case jobs <- j:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil)
	close(jobs)
	wg.Wait()
	if scanErr != nil {
		return nil, fmt.Errorf("replay: the log does not verify, nothing replayed: %w", scanErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return all, nil
}

// schedule says what j takes from the log or from an identical request
// decided before, and whether what remains must be evaluated.
func (r *replayer) schedule(j *replayJob) bool {
	if j.fromLog {
		j.base = outcome{decision: j.recorded}
	} else if first, ok := r.firstBase[j.key]; ok {
		j.baseOf = first
	} else {
		r.firstBase[j.key], j.evalBase = j, true
	}
	if first, ok := r.firstHead[j.key]; ok {
		j.headOf = first
	} else {
		r.firstHead[j.key], j.evalHead = j, true
	}
	return j.evalBase || j.evalHead
}

// compare adds every replayed decision's outcomes under base and head to res
// and completes the summary.
func (r *replayer) compare(all []*replayJob, res *DiffResult) {
	sum := r.sum
	sum.Evaluations = len(r.firstBase) + len(r.firstHead)
	for _, j := range all {
		if j.baseOf != nil {
			j.base = j.baseOf.base
		}
		if j.headOf != nil {
			j.head = j.headOf.head
		}
		sum.Decisions++
		if j.otherInventory {
			sum.OtherInventory++
		}
		if j.fromLog {
			sum.BaseFromLog++
		} else if j.recorded != nil && j.base.err == nil {
			if reproduces(j.recorded, j.base.decision) {
				sum.Reproduced++
			} else {
				sum.NotReproduced++
			}
		}
		res.add(compared{request: fmt.Sprintf("log #%d", j.index), source: "replay", label: j.label, kind: j.kind, base: j.base, head: j.head})
	}
	if len(sum.Skipped) == 0 {
		sum.Skipped = nil
	}
	res.Replay = sum
}

// decodedJob is what the scan's workers make of a record: a request to
// replay, a reason it cannot be, or (both empty) not a decision.
type decodedJob struct {
	job  *replayJob
	skip string
}

func decideJob(ctx context.Context, e *engine.Engine, j *replayJob) outcome {
	var d *engine.Decision
	var err error
	if j.placement != nil {
		d, err = e.Placement(ctx, j.placement)
	} else {
		d, err = e.Transfer(ctx, j.transfer)
	}
	return outcome{d, err}
}

// jobFor turns a verified record into a request to replay: a skip reason
// for a decision that cannot be, nil for a record that is not a decision.
func jobFor(e *audit.VerifiedEntry, o ReplayOptions, base *engine.Policy, inv *engine.Inventory, byDate bool) (*replayJob, string, error) {
	rec, err := e.Record()
	if err != nil {
		return nil, "", fmt.Errorf("entry %d: %w", e.Index, err)
	}
	var kind string
	switch rec.Kind {
	case audit.KindPlacement:
		kind = engine.KindPlacement
	case audit.KindTransfer:
		kind = engine.KindTransfer
	default:
		return nil, "", nil
	}
	if (!o.From.IsZero() && rec.Time.Before(o.From)) || (!o.To.IsZero() && !rec.Time.Before(o.To)) {
		return nil, "", nil
	}
	if bytes.Contains(rec.Request, []byte(`"`+audit.Redacted+`"`)) {
		return nil, "request has redacted fields", nil
	}
	var recorded engine.Decision
	if err := json.Unmarshal(rec.Result, &recorded); err != nil || recorded.Kind != kind {
		return nil, "result does not decode", nil
	}
	j := &replayJob{index: e.Index, kind: kind}
	// A request without `at` was decided at the time the result names: the
	// replay decides it as of then, unless told to decide all as of one time.
	at := recorded.EvaluatedAt
	if at == "" {
		at = rec.Time.UTC().Format(time.RFC3339Nano)
	}
	fixed := ""
	if !o.At.IsZero() {
		fixed = o.At.UTC().Format(time.RFC3339Nano)
	}
	switch kind {
	case engine.KindPlacement:
		req, err := engine.DecodePlacementRequest(rec.Request)
		if err != nil {
			return nil, "request does not decode", nil
		}
		req.At = replayTime(req.At, at, fixed)
		j.placement = req
		j.label = placementLabel(req)
		keyed := *req
		keyed.At = keyTime(req.At, byDate)
		j.key = requestKey(kind, &keyed)
	case engine.KindTransfer:
		req, err := engine.DecodeTransferRequest(rec.Request)
		if err != nil {
			return nil, "request does not decode", nil
		}
		req.At = replayTime(req.At, at, fixed)
		j.transfer = req
		j.label = transferLabel(req)
		keyed := *req
		keyed.At = keyTime(req.At, byDate)
		j.key = requestKey(kind, &keyed)
	}
	if rec.Bundle.Digest == base.Digest && rec.InventoryRevision == inv.Revision && rec.EngineVersion == engine.Version && fixed == "" {
		j.recorded, j.fromLog = &recorded, !o.ReevaluateBase
	}
	if rec.InventoryRevision != inv.Revision {
		j.otherInventory = true
	}
	return j, "", nil
}

// keyTime is the part of a request's time its decision can depend on: the
// UTC date when the policies read no more of it, else all of it.
func keyTime(at string, byDate bool) string {
	if !byDate {
		return at
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return at // the engine refuses it under both; keep it apart
	}
	return t.UTC().Format(time.DateOnly)
}

func placementLabel(r *engine.PlacementRequest) string {
	subject := "?"
	switch {
	case r.Workload != nil && r.Workload.Inline != nil:
		subject = "workload " + r.Workload.Inline.ID + " (inline)"
	case r.Workload != nil:
		subject = "workload " + r.Workload.ID
	case r.Dataset != nil && r.Dataset.Inline != nil:
		subject = r.Dataset.Inline.ID + " (inline)"
	case r.Dataset != nil:
		subject = r.Dataset.ID
	}
	sites := "every site"
	if r.Candidates != nil {
		sites = strings.Join(r.Candidates, ", ")
		if len(r.Candidates) > 4 {
			sites = fmt.Sprintf("%d sites", len(r.Candidates))
		}
	}
	return fmt.Sprintf("placement of %s (%s) over %s", subject, r.Operation, sites)
}

func transferLabel(r *engine.TransferRequest) string {
	ds := "?"
	if r.Dataset != nil {
		ds = r.Dataset.ID
		if r.Dataset.Inline != nil {
			ds = r.Dataset.Inline.ID + " (inline)"
		}
	}
	label := fmt.Sprintf("transfer of %s %s→%s (%s", ds, r.From, r.To, r.Type)
	if r.Mechanism != nil {
		label += ", " + r.Mechanism.Kind
	}
	return label + ")"
}

// reproduces reports whether a decision has the recorded verdicts and rule
// ids (messages may be left out of compact records, so they are not compared).
func reproduces(rec, d *engine.Decision) bool {
	if rec.Allowed != d.Allowed || !equalRules(rec.Violations, d.Violations) || !equalRules(rec.Obligations, d.Obligations) {
		return false
	}
	if len(rec.Sites) != len(d.Sites) {
		return false
	}
	bySite := map[string]engine.SiteDecision{}
	for _, s := range rec.Sites {
		bySite[s.Site] = s
	}
	for _, s := range d.Sites {
		r, ok := bySite[s.Site]
		if !ok || r.Allowed != s.Allowed || !equalRules(r.Violations, s.Violations) || !equalRules(r.Obligations, s.Obligations) {
			return false
		}
	}
	return true
}

func equalRules(a, b []engine.Violation) bool {
	return slices.Equal(engine.RuleIDs(a), engine.RuleIDs(b))
}

// replayTime is when a replayed request is decided: at the fixed --at when
// given, else at the request's own `at`, else when it was recorded.
func replayTime(requestAt, recorded, fixed string) string {
	switch {
	case fixed != "":
		return fixed
	case requestAt != "":
		return requestAt
	}
	return recorded
}

// requestKey identifies identical requests (evaluated once per policy).
func requestKey(kind string, keyed any) string {
	key, _ := json.Marshal(keyed)
	return kind + " " + string(key)
}
