package policyci

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sovereign-engine/sovereign/drift"
)

// Formats of WriteDiff.
const FormatMarkdown = "markdown"

// WriteDiff renders a diff as JSON (everything) or Markdown fit for a pull
// request comment: a summary table, then the changes grouped by rule, at most
// maxRows per rule (0: no limit) so that the comment stays within the size a
// forge accepts.
func (r *DiffResult) Write(w io.Writer, format string, maxRows int) error {
	if format == FormatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	md := r.markdown(maxRows)
	if len(md) > MaxMarkdownBytes {
		cut := strings.LastIndexByte(md[:MaxMarkdownBytes-200], '\n')
		md = md[:cut+1] + fmt.Sprintf("\n… truncated at %d of %d bytes to fit a pull request comment: lower --max-rows, or read the whole diff with --format json.\n", cut+1, len(md))
	}
	_, err := io.WriteString(w, md)
	return err
}

// MaxMarkdownBytes keeps a Markdown diff within what forges accept as one
// comment (GitHub: 65,536 characters).
const MaxMarkdownBytes = 60_000

// ruleChange is one change as it concerns one rule.
type ruleChange struct {
	change *Change
	what   string // "violation added", "obligation removed", ...
}

func (r *DiffResult) markdown(maxRows int) string {
	var b strings.Builder
	c := r.Counts
	b.WriteString("### Sovereign policy diff\n\n")
	fmt.Fprintf(&b, "Base %s → head %s.\n", describeSource(r.Base), describeSource(r.Head))
	var on []string
	if r.Scenarios > 0 {
		on = append(on, fmt.Sprintf("%d golden scenarios", r.Scenarios))
	}
	if rp := r.Replay; rp != nil {
		s := fmt.Sprintf("%d decisions replayed from the audit log `%s` (%s, entries %d–%d of a verified tree of %d", rp.Decisions, rp.Log, rp.Origin, rp.FirstIndex, rp.EndIndex, rp.TreeSize)
		if !rp.From.IsZero() || !rp.To.IsZero() {
			s += fmt.Sprintf("; %s to %s", timeOr(rp.From, "start"), timeOr(rp.To, "end"))
		}
		switch {
		case !rp.At.IsZero():
			s += fmt.Sprintf("; each decided as of %s", timeOr(rp.At, ""))
		case rp.ByDate:
			s += "; each decided as of when it was made (both policies read only the date of it)"
		default:
			s += "; each decided as of when it was made"
		}
		on = append(on, s+")")
	}
	if d := r.Drift; d != nil {
		on = append(on, fmt.Sprintf("the current state of `%s` (%d stored copies and %d flows of %d datasets, as of %s)", d.Inventory, d.Checked.Stored, d.Checked.Flows, d.Checked.Datasets, d.At))
	}
	fmt.Fprintf(&b, "Decided on: %s.\n\n", strings.Join(on, "; "))
	if r.Scenarios == 0 && r.Replay == nil && r.Drift != nil {
		// Only the drift view: no requests were compared.
		b.WriteString(r.Drift.markdown(maxRows))
		return b.String()
	}

	if len(r.Changes) == 0 {
		fmt.Fprintf(&b, "**No decision changes** over %d requests (%d decisions).\n", c.Requests, c.Decisions)
	} else {
		fmt.Fprintf(&b, "**%d of %d requests decide differently.**\n", c.RequestsChanged, c.Requests)
	}
	b.WriteString("\n| | count |\n|---|---:|\n")
	row := func(label string, n int) { fmt.Fprintf(&b, "| %s | %d |\n", label, n) }
	row("requests compared", c.Requests)
	row("decisions compared (placement sites + transfers)", c.Decisions)
	row("requests with a change", c.RequestsChanged)
	row("allowed → denied", c.AllowedToDenied)
	row("**denied → allowed**", c.DeniedToAllowed)
	row("violations added", c.ViolationsAdded)
	row("violations removed", c.ViolationsRemoved)
	row("obligations added", c.ObligationsAdded)
	row("obligations removed", c.ObligationsRemoved)
	if c.WarningsAdded+c.WarningsRemoved > 0 {
		row("warnings added", c.WarningsAdded)
		row("warnings removed", c.WarningsRemoved)
	}
	row("requests a side could not decide", c.Errors)
	if rp := r.Replay; rp != nil {
		skipped := 0
		var reasons []string
		for reason, n := range rp.Skipped {
			skipped += n
			reasons = append(reasons, fmt.Sprintf("%s: %d", reason, n))
		}
		sort.Strings(reasons)
		label := "logged decisions not replayable"
		if len(reasons) > 0 {
			label += " (" + strings.Join(reasons, "; ") + ")"
		}
		row(label, skipped)
		if rp.OtherInventory > 0 {
			row("logged decisions made on another inventory", rp.OtherInventory)
		}
		if rp.BaseFromLog > 0 {
			row("logged decisions of the base bundle taken as base's outcome (same bundle, inventory, engine)", rp.BaseFromLog)
		}
		if rp.Reproduced+rp.NotReproduced > 0 {
			row("logged decisions of the base bundle reproduced exactly", rp.Reproduced)
			row("**… not reproduced** (replay is not faithful: look here first)", rp.NotReproduced)
		}
	}

	if d := r.Drift; d != nil {
		b.WriteString(d.markdown(maxRows))
	}

	byRule := map[string][]ruleChange{}
	var errs []*Change
	for i := range r.Changes {
		ch := &r.Changes[i]
		if ch.BaseError != "" || ch.HeadError != "" {
			errs = append(errs, ch)
			continue
		}
		for _, x := range []struct {
			ids  []string
			what string
		}{
			{ch.ViolationsAdded, "violation added"}, {ch.ViolationsRemoved, "violation removed"},
			{ch.ObligationsAdded, "obligation added"}, {ch.ObligationsRemoved, "obligation removed"},
			{ch.WarningsAdded, "warning added"}, {ch.WarningsRemoved, "warning removed"},
		} {
			for _, id := range x.ids {
				byRule[id] = append(byRule[id], ruleChange{ch, x.what})
			}
		}
	}
	if len(byRule) > 0 {
		b.WriteString("\n#### Changes by rule\n")
		rules := make([]string, 0, len(byRule))
		for id := range byRule {
			rules = append(rules, id)
		}
		sort.Strings(rules)
		for _, id := range rules {
			list := byRule[id]
			flips := 0
			for _, rc := range list {
				if rc.change.Verdict != "" {
					flips++
				}
			}
			fmt.Fprintf(&b, "\n**`%s`**: %d decisions, %d of them change verdict\n\n", id, len(list), flips)
			b.WriteString("| request | asked | site | change | verdict |\n|---|---|---|---|---|\n")
			for i, rc := range list {
				if maxRows > 0 && i == maxRows {
					fmt.Fprintf(&b, "| … and %d more | | | | |\n", len(list)-maxRows)
					break
				}
				ch := rc.change
				site := ch.Site
				if site == "" {
					site = "–"
				}
				verdict := ch.Verdict
				if verdict == DeniedToAllowed {
					verdict = "**" + verdict + "**"
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(ch.Request), cell(ch.Label), cell(site), rc.what, verdict)
			}
		}
	}
	if len(errs) > 0 {
		b.WriteString("\n#### Requests a side could not decide\n\n| request | asked | base | head |\n|---|---|---|---|\n")
		for i, ch := range errs {
			if maxRows > 0 && i == maxRows {
				fmt.Fprintf(&b, "| … and %d more | | | |\n", len(errs)-maxRows)
				break
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(ch.Request), cell(ch.Label), cell(orOK(ch.BaseError)), cell(orOK(ch.HeadError)))
		}
	}
	return b.String()
}

func describeSource(s PolicySource) string {
	out := fmt.Sprintf("`%s`", s.Spec)
	if s.Commit != "" {
		out += fmt.Sprintf(" (%.12s)", s.Commit)
	}
	return out + fmt.Sprintf(" — revision `%s`, digest `%.19s…`", s.Revision, s.Digest)
}

func timeOr(t time.Time, s string) string {
	if t.IsZero() {
		return s
	}
	return t.UTC().Format(time.RFC3339)
}

func orOK(s string) string {
	if s == "" {
		return "decided"
	}
	return s
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// markdown is the drift view of a diff: what is stored or moving today that
// head would refuse (breaks) or allow (clears), at most maxRows of each.
func (d *DiffDrift) markdown(maxRows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### Where data is today: %d would break, %d would clear\n\n", len(d.Breaks), len(d.Clears))
	fmt.Fprintf(&b, "The inventory's `current:` state judged as of %s: out of compliance under base %d, under head %d ([drift](docs/drift.md)).\n",
		d.At, d.OutOfCompliance.Base, d.OutOfCompliance.Head)
	list := func(title string, fs []drift.Finding) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s\n\n| dataset | tenant | what | rules | citations |\n|---|---|---|---|---|\n", title)
		for i := range fs {
			if maxRows > 0 && i == maxRows {
				fmt.Fprintf(&b, "| … and %d more | | | | |\n", len(fs)-maxRows)
				break
			}
			f := &fs[i]
			what := "stored at " + f.Site
			if f.Kind == drift.KindFlow {
				what = f.Type + " " + f.From + " → " + f.To
			}
			var cites []string
			for _, v := range f.Violations {
				if v.Citation != "" && !slices.Contains(cites, v.Citation) {
					cites = append(cites, v.Citation)
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s |\n", cell(f.Dataset), cell(f.Tenant), cell(what), strings.Join(f.Rules(), "`, `"), cell(strings.Join(cites, "; ")))
		}
	}
	list("**Breaks** (allowed under base, refused under head: head's violations):", d.Breaks)
	list("Clears (refused under base, allowed under head: base's violations):", d.Clears)
	return b.String()
}
