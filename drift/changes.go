package drift

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
)

// cause is a dated change that can alter a decision: a reference-data entry
// that starts or ends, a site's certificate that ends, an exemption that
// starts or expires. Date is the first day the change is in effect (the day
// after an inclusive end date).
type cause struct {
	date string
	what string
	// global marks a change of the bundle's data, which may concern anyone;
	// sites, datasets and tenants limit whom an inventory change concerns.
	global                   bool
	sites, datasets, tenants []string
}

// concerns reports whether the change may bear on a dataset of tenant held
// at or moving between sites.
func (c *cause) concerns(dataset, tenant string, sites []string) bool {
	if len(c.sites) > 0 && !slices.ContainsFunc(sites, func(s string) bool { return slices.Contains(c.sites, s) }) {
		return false
	}
	if len(c.datasets) > 0 && !slices.Contains(c.datasets, dataset) {
		return false
	}
	return len(c.tenants) == 0 || slices.Contains(c.tenants, tenant)
}

// timeline is every date on which a decision may change, ascending, with
// the changes that take effect on it.
type timeline struct {
	dates  []string
	causes map[string][]cause
}

// newTimeline gathers the change dates of a policy's data and an inventory.
// Decisions of a policy that reads time only through the date and through
// dated entries of its data (the built-in bundle: engine.DateOnly, and every
// rule reads dated reference data with lib.in_force/current) are constant
// between two consecutive dates; a date written into a Rego rule itself is
// not seen, and docs/drift.md says so.
func newTimeline(policies []*engine.Policy, inv *engine.Inventory) *timeline {
	t := &timeline{causes: map[string][]cause{}}
	add := func(c cause) {
		if _, err := time.Parse(time.DateOnly, c.date); err != nil {
			return
		}
		t.causes[c.date] = append(t.causes[c.date], c)
	}
	for _, p := range policies {
		walkDates(p.Data(), "data", func(path, key string, start bool, date string) {
			switch {
			case start:
				add(cause{date: date, global: true, what: fmt.Sprintf("%s.%s: %s (starts)", path, key, date)})
			default:
				add(cause{date: dayAfter(date), global: true, what: fmt.Sprintf("%s.%s: %s (last day)", path, key, date)})
			}
		})
	}
	for _, id := range inv.SiteIDs {
		for _, cert := range inv.Sites[id].Certifications {
			if cert.ValidUntil != "" {
				add(cause{date: dayAfter(cert.ValidUntil), sites: []string{id},
					what: fmt.Sprintf("site %s: certification %s valid_until %s", id, certName(cert), cert.ValidUntil)})
			}
		}
	}
	for _, id := range sortedKeys(inv.Exemptions) {
		e := inv.Exemptions[id]
		sc := e.Scope
		if e.ValidFrom != "" {
			add(cause{date: e.ValidFrom, sites: sc.Sites, datasets: sc.Datasets, tenants: sc.Tenants,
				what: fmt.Sprintf("exemption %s (%s) valid_from %s", id, strings.Join(e.Rules, ", "), e.ValidFrom)})
		}
		add(cause{date: dayAfter(e.Expires), sites: sc.Sites, datasets: sc.Datasets, tenants: sc.Tenants,
			what: fmt.Sprintf("exemption %s (%s) expires %s", id, strings.Join(e.Rules, ", "), e.Expires)})
	}
	for d := range t.causes {
		t.dates = append(t.dates, d)
	}
	sort.Strings(t.dates)
	return t
}

// startKeys and endKeys are the suffixes of the keys of a data document
// whose date values start or end something a decision can turn on
// (valid_from, decision_valid_until, expires, ...).
var (
	startKeys = []string{"valid_from", "from", "start", "starts", "effective"}
	endKeys   = []string{"valid_until", "until", "expires", "end", "ends", "review", "review_date"}
)

// dateKey says whether k names a start or an end date.
func dateKey(k string) (start, ok bool) {
	has := func(suffixes []string) bool {
		return slices.ContainsFunc(suffixes, func(s string) bool { return k == s || strings.HasSuffix(k, "_"+s) })
	}
	switch {
	case has(startKeys):
		return true, true
	case has(endKeys):
		return false, true
	}
	return false, false
}

// walkDates calls fn with every date value under a date key of v.
func walkDates(v any, path string, fn func(path, key string, start bool, date string)) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if s, ok := x[k].(string); ok && len(s) == len(time.DateOnly) {
				if start, ok := dateKey(k); ok {
					fn(path, k, start, s)
					continue
				}
			}
			walkDates(x[k], path+"."+k, fn)
		}
	case []any:
		for i, el := range x {
			walkDates(el, path+"["+strconv.Itoa(i)+"]", fn)
		}
	}
}

// within returns the dates d with from < d <= to, ascending.
func (t *timeline) within(from, to string) []string {
	lo := sort.SearchStrings(t.dates, from)
	for lo < len(t.dates) && t.dates[lo] <= from {
		lo++
	}
	hi := sort.SearchStrings(t.dates, to)
	for hi < len(t.dates) && t.dates[hi] <= to {
		hi++
	}
	if lo >= hi {
		return nil
	}
	return t.dates[lo:hi]
}

// why lists the changes of a date that may concern an item: the inventory's
// changes that concern its dataset or sites; when there are none, the
// reference data's changes of that day (reference data is not tied to
// inventory entries, so all of the day's are listed).
func (t *timeline) why(date string, it *item) []string {
	var own, reference []string
	for _, c := range t.causes[date] {
		switch {
		case c.global:
			reference = append(reference, c.what)
		case c.concerns(it.dataset, it.tenant, it.sites()):
			own = append(own, c.what)
		}
	}
	if len(own) > 0 {
		return own
	}
	return reference
}

// bears reports whether a change of the date may alter the decision on an
// item: a change of the bundle's data may alter any; a certificate's only
// decisions on its site, an exemption's only those within its scope.
func (t *timeline) bears(date string, it *item) bool {
	for _, c := range t.causes[date] {
		if c.global || c.concerns(it.dataset, it.tenant, it.sites()) {
			return true
		}
	}
	return false
}

func certName(c engine.Certification) string {
	if c.Level != "" {
		return c.Scheme + " " + c.Level
	}
	return c.Scheme
}

// dayAfter is the date after d (YYYY-MM-DD), or "" if d is not a date.
func dayAfter(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}

// dayBefore is the date before d.
func dayBefore(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, -1).Format(time.DateOnly)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
