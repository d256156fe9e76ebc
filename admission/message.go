package admission

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sovereign-engine/sovereign/engine"
)

// Limits on what a review answers. The API server keeps at most 4,096
// characters (runes) of warnings per response and, once over, cuts every
// warning to 256 and drops the rest (k8s.io/apiserver
// pkg/endpoints/filters/warning.go); mutate's and validate's warnings share
// that response. So every warning line fits 256, one webhook's answer fits
// half of 4,096, and nothing the API server would cut or drop is sent.
const (
	// MaxWarningRunes is the longest warning line answered.
	MaxWarningRunes = 256
	// MaxWarningsRunes bounds all the warnings of one answer, the line that
	// points at the full decision included.
	MaxWarningsRunes = 2048
	// MaxMessageRunes bounds a refusal's message, the pointer included.
	MaxMessageRunes = 4096

	// pointerRunes is kept free for the pointer to the full decision (Answer).
	pointerRunes = MaxWarningRunes
	// minMessageRunes of a finding's message are kept before its lists of
	// sites and datasets are shortened.
	minMessageRunes = 48
)

// finding is one rule broken (or one obligation) at one or more sites: the
// answer names it once, with every site and dataset it applies to.
type finding struct {
	rule, citation, message string
	sites, datasets         []string
}

// groupByRule groups the violations or obligations (pick) of the candidate
// sites by rule and citation, in the order they first appear; the message
// kept is the first site's.
func groupByRule(d *engine.Decision, candidates []string, pick func(engine.SiteDecision) []engine.Violation) []finding {
	var out []finding
	for _, sd := range d.Sites {
		if !slices.Contains(candidates, sd.Site) {
			continue // excluded by the patch
		}
		for _, v := range pick(sd) {
			i := slices.IndexFunc(out, func(f finding) bool { return f.rule == v.Rule && f.citation == v.Citation })
			if i < 0 {
				out = append(out, finding{rule: v.Rule, citation: v.Citation, message: v.Message})
				i = len(out) - 1
			}
			f := &out[i]
			if !slices.Contains(f.sites, sd.Site) {
				f.sites = append(f.sites, sd.Site)
			}
			if v.Dataset != "" && !slices.Contains(f.datasets, v.Dataset) {
				f.datasets = append(f.datasets, v.Dataset)
			}
		}
	}
	return out
}

// line words a finding in at most limit runes:
//
//	<prefix><rule> [<citation>] at <sites> (<datasets>): <message>
//
// The rule and its citation are kept whole; the lists of sites and datasets
// are shortened ("… and 3 more") before the message is cut.
func (f finding) line(prefix string, limit int) string {
	head := func(ns, nd int) string {
		h := prefix + f.rule + " [" + f.citation + "] at " + listOf(f.sites, ns)
		if len(f.datasets) > 0 {
			h += " (" + listOf(f.datasets, nd) + ")"
		}
		return h + ": "
	}
	ns, nd := len(f.sites), len(f.datasets)
	for utf8.RuneCountInString(head(ns, nd)) > limit-minMessageRunes && (ns > 1 || nd > 1) {
		if ns >= nd {
			ns--
		} else {
			nd--
		}
	}
	return cut(head(ns, nd)+f.message, limit)
}

// listOf joins the first n items, saying how many more there are.
func listOf(items []string, n int) string {
	s := strings.Join(items[:n], ", ")
	if n < len(items) {
		s += " and " + strconv.Itoa(len(items)-n) + " more"
	}
	return s
}

// cut shortens s to at most limit runes, marking the cut with an ellipsis.
func cut(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	r := []rune(s)
	return string(r[:limit-1]) + "…"
}

// fitWarnings keeps the warnings, in order of importance, that fit within
// budget runes, each cut to MaxWarningRunes, and says how many did not fit.
func fitWarnings(lines []string, budget int) []string {
	var out []string
	used := 0
	for i, l := range lines {
		l = cut(l, MaxWarningRunes)
		n := utf8.RuneCountInString(l)
		more := fmt.Sprintf("sovereign: %d more warnings not shown here: the full decision has them", len(lines)-i)
		if used+n+utf8.RuneCountInString(more) > budget && i < len(lines)-1 || used+n > budget {
			return append(out, more)
		}
		out = append(out, l)
		used += n
	}
	return out
}

// refusal words a refusal: the subject, then each reason, in at most
// MaxMessageRunes with room left for the pointer to the full decision.
func refusal(subject string, reasons []string) string {
	msg := "sovereign: " + subject + " may be placed where its data may not go: "
	budget := MaxMessageRunes - pointerRunes
	for i, r := range reasons {
		sep := "; "
		if i == 0 {
			sep = ""
		}
		more := fmt.Sprintf("; and %d more reasons: the full decision has them", len(reasons)-i)
		if utf8.RuneCountInString(msg+sep+r+more) > budget && i < len(reasons)-1 || utf8.RuneCountInString(msg+sep+r) > budget {
			return msg + more
		}
		msg += sep + r
	}
	return msg
}
