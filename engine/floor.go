package engine

import (
	"fmt"
	"math"
	"time"
)

// Floor is the earliest decision date a policy bundle models
// (data.reference.modelled_from, docs/policy-contract.md "The modelled
// period"). A request whose `at` lies before it is refused (422 on `at`):
// the policy cannot say what the law was then, so nothing may be decided -
// least of all allowed - by omission.
type Floor struct {
	// Date is the floor as the bundle gives it (YYYY-MM-DD): decisions on
	// that day or later are modelled.
	Date string `json:"date"`
	// Source is why the floor lies there, as the reference data says.
	Source string `json:"source,omitempty"`

	from     time.Time // midnight UTC of Date
	revision string    // of the bundle, for messages
}

// floorPath names the floor in the bundle's data, for messages.
const floorPath = "data.reference.modelled_from"

// readFloor reads a bundle's floor from its data document. A bundle without
// data.reference.modelled_from has no floor (nil): the engine then leaves the
// decision date to the policy (the built-in library refuses every decision
// without a floor by itself). A floor that is there but malformed refuses the
// bundle: the policy would read it no better than the engine, and a bundle
// whose floor no one can read must not replace one that works.
func readFloor(data map[string]any, revision string) (*Floor, error) {
	ref, ok := data["reference"].(map[string]any)
	if !ok {
		return nil, nil
	}
	raw, ok := ref["modelled_from"]
	if !ok {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: is %s, want an object with a date (YYYY-MM-DD)", floorPath, valueKind(raw))
	}
	date, ok := m["date"].(string)
	if !ok {
		return nil, fmt.Errorf("%s.date: is %s, want a date (YYYY-MM-DD)", floorPath, valueKind(m["date"]))
	}
	from, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return nil, fmt.Errorf("%s.date: %q is not a date (YYYY-MM-DD)", floorPath, date)
	}
	if !representable(from) {
		return nil, fmt.Errorf("%s.date: %s is outside the times the engine can represent (%s to %s)", floorPath, date, minTime.Format(time.DateOnly), maxTime.Format(time.DateOnly))
	}
	source, _ := m["source"].(string)
	return &Floor{Date: date, Source: source, from: from, revision: revision}, nil
}

// valueKind names the JSON type of a decoded value, for messages.
func valueKind(v any) string {
	switch v.(type) {
	case nil:
		return "missing or null"
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// The instants a decision time may take: OPA's clock (rego.EvalTime, the
// time.* built-ins) counts nanoseconds since 1970 in an int64, so a time
// outside these bounds cannot reach the policy intact.
var (
	minTime = time.Unix(0, math.MinInt64).UTC() // 1677-09-21T00:12:43.145224192Z
	maxTime = time.Unix(0, math.MaxInt64).UTC() // 2262-04-11T23:47:16.854775807Z
)

// representable reports whether t fits OPA's nanosecond clock.
func representable(t time.Time) bool {
	return !t.Before(minTime) && !t.After(maxTime)
}

// check refuses a decision time before the floor, naming the floor, its
// source and the bundle; nil when t is on or after it (or there is no floor).
func (f *Floor) check(t time.Time) *FieldError {
	if f == nil || !t.Before(f.from) {
		return nil
	}
	msg := fmt.Sprintf("is before %s, the earliest date policy bundle %q models (%s)", f.Date, f.revision, floorPath)
	if f.Source != "" {
		msg += ": " + f.Source
	}
	return &FieldError{Path: "at", Message: msg}
}
