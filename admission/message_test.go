package admission_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sovereign-engine/sovereign/admission"
	"github.com/sovereign-engine/sovereign/engine"
)

// The API server keeps 4,096 runes of warnings per response and, once over,
// cuts each to 256 and drops the rest: every warning line fits 256, one
// answer (mutate's or validate's) fits 2,048, each rule is one line naming
// its sites and keeping its citation whole, and the last line points at the
// full decision. A refusal is grouped alike.
func TestAnswersWithinTheAPIServersLimits(t *testing.T) {
	threeDatasets := func(ns string) func(req map[string]any) {
		return func(req map[string]any) {
			req["namespace"] = ns
			meta(req["object"].(map[string]any))["annotations"] = map[string]any{"sovereign.dev/datasets": "customer-pii-eu,payments-in,patient-records-de"}
		}
	}
	for _, tc := range []struct {
		name    string
		spanAll bool // the cluster spans every site of the inventory
	}{
		{name: "cluster of four sites"},
		{name: "cluster spanning every site", spanAll: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReviewer(t, func(c *admission.Config) {
				if tc.spanAll {
					c.SpannedSites = nil
					for _, id := range newDemoEngine(t).Inventory().SiteIDs {
						if id != c.ClusterSite {
							c.SpannedSites = append(c.SpannedSites, id)
						}
					}
				}
			})
			sent := loadReview(t, "replicaset-create-warn.json")
			threeDatasets("analytics")(sent["request"].(map[string]any))
			out, err := review(t, r, "validate", sent)
			if err != nil || !out.Response.Allowed {
				t.Fatalf("warn mode admits: %v %+v", err, out)
			}
			resp := out.Answer("sovereign/sovereign-webhook-0", 1234)
			rules := rulesOf(out.Record.Result.Decision, out.Record.Result.Candidates, true)
			if len(rules) < 5 {
				t.Fatalf("the case must break several rules, breaks %v", rules)
			}
			total, shown, more := 0, map[string]bool{}, 0
			for i, w := range resp.Warnings {
				n := utf8.RuneCountInString(w)
				total += n
				if n > admission.MaxWarningRunes {
					t.Errorf("warning of %d runes, the API server cuts at %d: %s", n, admission.MaxWarningRunes, w)
				}
				if m := regexp.MustCompile(`^sovereign: (\d+) more warnings not shown`).FindStringSubmatch(w); m != nil {
					more++
					continue
				}
				if i == len(resp.Warnings)-1 {
					if w != "sovereign: full decision "+out.Record.ID+": entry 1234 of audit log sovereign/sovereign-webhook-0" {
						t.Errorf("the last warning must point at the full decision: %s", w)
					}
					continue
				}
				rule, ok := strings.CutPrefix(w, "sovereign (warn mode, would deny): ")
				if !ok {
					rule, ok = strings.CutPrefix(w, "sovereign: obligation ")
				}
				rule, _, _ = strings.Cut(rule, " ")
				if !ok || rules[rule] == "" || !strings.Contains(w, " ["+rules[rule]+"] at ") {
					t.Errorf("want one line per rule with its whole citation: %s", w)
				}
				if shown[w[:strings.Index(w, " at ")]] {
					t.Errorf("rule given twice: %s", w)
				}
				shown[w[:strings.Index(w, " at ")]] = true
			}
			if total > admission.MaxWarningsRunes {
				t.Errorf("warnings total %d runes, want at most %d", total, admission.MaxWarningsRunes)
			}
			if tc.spanAll && more != 1 {
				t.Errorf("with every site, some warnings do not fit and are counted: %q", resp.Warnings)
			}
			if !tc.spanAll && (more != 0 || len(shown) < len(rules)) {
				t.Errorf("with four sites every rule fits (%d of %d shown): %q", len(shown), len(rules), resp.Warnings)
			}
			if !slices.Equal(out.Record.Result.Warnings, resp.Warnings[:len(resp.Warnings)-1]) {
				t.Errorf("the record keeps the warnings answered, but for the pointer to itself")
			}

			// The same, refused: one entry per rule, within the limit, ending
			// with the pointer.
			sent = loadReview(t, "replicaset-create-warn.json")
			threeDatasets("shop")(sent["request"].(map[string]any))
			out, err = review(t, r, "validate", sent)
			if err != nil || out.Response.Allowed {
				t.Fatalf("enforce refuses: %v %+v", err, out)
			}
			msg := out.Answer("sovereign/sovereign-webhook-0", 7).Result.Message
			if n := utf8.RuneCountInString(msg); n > admission.MaxMessageRunes {
				t.Errorf("refusal of %d runes, want at most %d", n, admission.MaxMessageRunes)
			}
			if !strings.HasSuffix(msg, "(full decision "+out.Record.ID+": entry 7 of audit log sovereign/sovereign-webhook-0)") {
				t.Errorf("the refusal must end with the pointer: %s", msg)
			}
			for rule, citation := range rulesOf(out.Record.Result.Decision, out.Record.Result.Candidates, false) {
				if c := strings.Count(msg, rule+" ["+citation+"] at "); c > 1 || c == 0 && !strings.Contains(msg, "more reasons: the full decision has them") {
					t.Errorf("rule %s in the refusal %d times: %s", rule, c, msg)
				}
			}
		})
	}
}

// rulesOf maps each rule broken at the candidate sites (and each obligation,
// with obligations) to its citation.
func rulesOf(d *engine.Decision, candidates []string, obligations bool) map[string]string {
	out := map[string]string{}
	for _, sd := range d.Sites {
		if !slices.Contains(candidates, sd.Site) {
			continue
		}
		vs := slices.Clone(sd.Violations)
		if obligations {
			vs = append(vs, sd.Obligations...)
		}
		for _, v := range vs {
			out[v.Rule] = v.Citation
		}
	}
	return out
}
