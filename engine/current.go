package engine

import (
	"fmt"
	"slices"
)

// DatasetState is where a dataset is today (docs/drift.md): the sites that
// store it and the flows that copy it between sites or expose it to another
// site. It is what `sovereign drift` judges again under the policy and the
// date in force; decisions never read it (it is not in data.inventory).
type DatasetState struct {
	Dataset  string     `json:"dataset" validate:"required,max=253"`
	StoredAt []StoredAt `json:"stored_at" validate:"required,min=1,dive"`
	Flows    []Flow     `json:"flows,omitempty" validate:"omitempty,dive"`
}

// StoredAt is one site that holds a copy of the dataset. Since, when given,
// is the first day it did: drift never reports the copy out of compliance
// from before it existed.
type StoredAt struct {
	Site  string `json:"site" validate:"required"`
	Since string `json:"since,omitempty" validate:"omitempty,datetime=2006-01-02"`
}

// Flow is a running transfer of the dataset: a replication, a backup, a
// migration under way, or remote access from To to the data at From, with
// the legal mechanism it relies on, if any. It is judged as the transfer
// request it would be (TransferRequest).
type Flow struct {
	From      string     `json:"from" validate:"required"`
	To        string     `json:"to" validate:"required"`
	Type      string     `json:"type" validate:"required,oneof=replicate migrate backup remote-access"`
	Frequency string     `json:"frequency,omitempty" validate:"omitempty,oneof=one-off repeated continuous"`
	Mechanism *Mechanism `json:"mechanism,omitempty"`
	Since     string     `json:"since,omitempty" validate:"omitempty,datetime=2006-01-02"`
}

// stateFields are the field paths below a current-state entry whose
// positions the checks across entries name.
func stateFields(s *DatasetState) []string {
	paths := []string{".dataset"}
	for i := range s.StoredAt {
		paths = append(paths, fmt.Sprintf(".stored_at[%d]", i), fmt.Sprintf(".stored_at[%d].site", i))
	}
	for i := range s.Flows {
		paths = append(paths, fmt.Sprintf(".flows[%d]", i), fmt.Sprintf(".flows[%d].from", i), fmt.Sprintf(".flows[%d].to", i))
	}
	return paths
}

// checkCurrentState refuses a current state that names a dataset or site the
// inventory does not have, gives a dataset's state twice, lists a site
// twice, or has a flow that does not fit the dataset's stored copies: a flow
// leaves from a site that stores the data, and every flow but remote access
// puts a copy at its destination, which must then be listed in stored_at (so
// that the copy is judged as a placement too).
func (c *collection) checkCurrentState(siteAt, datasetAt map[string]origin) {
	seen := map[string]origin{}
	known := func(s *located[DatasetState], path, id string) bool {
		if id == "" {
			return false // reported by validation
		}
		if _, ok := siteAt[id]; !ok {
			c.problem(s.place(path), fmt.Sprintf("unknown site %q", id))
			return false
		}
		return true
	}
	for j := range c.current {
		s := &c.current[j]
		v := &s.value
		if v.Dataset != "" {
			if _, ok := datasetAt[v.Dataset]; !ok {
				c.problem(s.place(".dataset"), fmt.Sprintf("unknown dataset %q", v.Dataset))
			} else if first, dup := seen[v.Dataset]; dup {
				c.problem(s.place(".dataset"), fmt.Sprintf("current state of dataset %q given twice, first at %s", v.Dataset, first))
			} else {
				seen[v.Dataset] = s.at
			}
		}
		var stored []string
		for i, st := range v.StoredAt {
			path := fmt.Sprintf(".stored_at[%d].site", i)
			if !known(s, path, st.Site) {
				continue
			}
			if slices.Contains(stored, st.Site) {
				c.problem(s.place(path), fmt.Sprintf("site %q is listed twice", st.Site))
				continue
			}
			stored = append(stored, st.Site)
		}
		type flowKey struct{ from, to, typ string }
		flows := map[flowKey]bool{}
		for i, f := range v.Flows {
			from, to := fmt.Sprintf(".flows[%d].from", i), fmt.Sprintf(".flows[%d].to", i)
			okFrom, okTo := known(s, from, f.From), known(s, to, f.To)
			if !okFrom || !okTo {
				continue
			}
			switch k := (flowKey{f.From, f.To, f.Type}); {
			case f.From == f.To:
				c.problem(s.place(to), `must differ from "from"`)
			case !slices.Contains(stored, f.From):
				c.problem(s.place(from), fmt.Sprintf("site %q does not store the dataset: list it in stored_at, or correct the flow", f.From))
			case f.Type != "remote-access" && f.Type != "" && !slices.Contains(stored, f.To):
				c.problem(s.place(to), fmt.Sprintf("a %s flow stores a copy at %q: list the site in stored_at", f.Type, f.To))
			case flows[k]:
				c.problem(s.place(fmt.Sprintf(".flows[%d]", i)), fmt.Sprintf("the %s flow from %q to %q is listed twice", f.Type, f.From, f.To))
			default:
				flows[k] = true
			}
		}
	}
}
