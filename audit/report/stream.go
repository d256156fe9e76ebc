package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
)

// CSVColumns are the columns of the CSV report, one row per selected
// record, in this order (docs/reports.md). Lists are joined with ";". The
// columns of an override (its justification, expiry and ticket) come last,
// so that readers of the older columns by position keep working.
var CSVColumns = []string{
	"index", "id", "time", "kind", "principal", "tenant", "datasets", "sites", "outcome",
	"allowed_sites", "denied_sites", "rules", "citations", "obligations", "exemptions", "links",
	"bundle_revision", "bundle_digest", "inventory_revision", "request_sha256", "entry_sha256",
	"hypothetical", "override_justification", "override_expires", "override_ticket",
}

type csvSink struct {
	bw     *bufio.Writer
	cw     *csv.Writer
	header bool
	rec    []string
}

func newCSVSink(w io.Writer) *csvSink {
	bw := bufio.NewWriterSize(w, 256<<10)
	return &csvSink{bw: bw, cw: csv.NewWriter(bw), rec: make([]string, len(CSVColumns))}
}

func (s *csvSink) row(_ context.Context, _ *audit.VerifiedEntry, r *Row, selected bool) error {
	if !s.header {
		s.header = true
		if err := s.cw.Write(CSVColumns); err != nil {
			return err
		}
	}
	if !selected {
		return nil
	}
	join := func(list []string) string { return strings.Join(list, ";") }
	findings := func(fs []Finding, f func(Finding) string) string {
		var b strings.Builder
		for i, x := range fs {
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteString(f(x))
		}
		return b.String()
	}
	withSite := func(f Finding) string {
		if f.Site != "" {
			return f.Rule + "@" + f.Site
		}
		return f.Rule
	}
	var links strings.Builder
	for i, l := range r.Links {
		if i > 0 {
			links.WriteByte(';')
		}
		links.WriteString(l.Rel + ":" + l.ID)
	}
	c := s.rec
	c[0] = strconv.FormatUint(r.Index, 10)
	c[1] = r.ID
	c[2] = r.Time.Format(time.RFC3339Nano)
	c[3] = string(r.Kind)
	c[4] = r.Principal
	c[5] = join(r.Tenants)
	c[6] = join(r.Datasets)
	c[7] = join(r.Sites)
	c[8] = r.Outcome
	c[9] = join(r.AllowedSites)
	c[10] = join(r.DeniedSites)
	c[11] = findings(r.Violations, withSite)
	c[12] = findings(r.Violations, func(f Finding) string { return f.Citation })
	c[13] = findings(r.Obligations, withSite)
	c[14] = join(r.Exemptions)
	c[15] = links.String()
	c[16] = r.Bundle.Revision
	c[17] = r.Bundle.Digest
	c[18] = r.Inventory
	c[19] = r.RequestSHA256
	c[20] = r.EntrySHA256
	c[21] = ""
	if r.Hypothetical {
		c[21] = "true"
	}
	c[22], c[23], c[24] = "", "", ""
	if g := r.Override; g != nil {
		c[22], c[23], c[24] = g.Justification, g.Expires, g.Ticket
	}
	return s.cw.Write(c)
}

func (s *csvSink) close(*Summary) error {
	if !s.header {
		if err := s.cw.Write(CSVColumns); err != nil {
			return err
		}
	}
	s.cw.Flush()
	if err := s.cw.Error(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// jsonSink writes {"format":…,"records":[…],"summary":{…}}: the records
// stream first, the summary, known only at the end, follows.
type jsonSink struct {
	bw     *bufio.Writer
	enc    *json.Encoder
	header bool
	wrote  bool
}

func newJSONSink(w io.Writer) *jsonSink {
	bw := bufio.NewWriterSize(w, 256<<10)
	return &jsonSink{bw: bw, enc: json.NewEncoder(bw)}
}

func (s *jsonSink) writeHeader() error {
	if s.header {
		return nil
	}
	s.header = true
	_, err := s.bw.WriteString(`{"format":"` + FormatVersion + `","records":[` + "\n")
	return err
}

func (s *jsonSink) row(_ context.Context, _ *audit.VerifiedEntry, r *Row, selected bool) error {
	if err := s.writeHeader(); err != nil || !selected {
		return err
	}
	if s.wrote {
		if err := s.bw.WriteByte(','); err != nil {
			return err
		}
	}
	s.wrote = true
	return s.enc.Encode(r)
}

func (s *jsonSink) close(sum *Summary) error {
	if err := s.writeHeader(); err != nil {
		return err
	}
	if _, err := s.bw.WriteString(`],"summary":`); err != nil {
		return err
	}
	if err := s.enc.Encode(sum); err != nil {
		return err
	}
	if _, err := s.bw.WriteString("}\n"); err != nil {
		return err
	}
	return s.bw.Flush()
}
