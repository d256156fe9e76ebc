package drift

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints a report for a terminal: one block per section, one row
// per finding, each violation with its citation below it.
func WriteTable(w io.Writer, r *Report) error {
	bw := &errWriter{w: w}
	bw.printf("Drift at %s under bundle %s, inventory %s", r.EvaluatedAt, r.Bundle.Revision, r.InventoryRevision)
	if r.Tenant != "" {
		bw.printf(", tenant %s", r.Tenant)
	}
	bw.printf("\nJudged %d datasets: %d stored copies, %d flows.\n", r.Checked.Datasets, r.Checked.Stored, r.Checked.Flows)

	bw.printf("\nOut of compliance now: %d\n", len(r.OutOfCompliance))
	section(bw, r.OutOfCompliance, "SINCE", func(f *Finding) string {
		switch f.SinceBasis {
		case SinceAtLeast:
			return "at least " + f.Since
		case SinceStored:
			return f.Since + " (first day stored)"
		}
		return f.Since
	})
	if r.Until != "" {
		bw.printf("\nFalls out of compliance by %s: %d\n", r.Until, len(r.Forecast))
		section(bw, r.Forecast, "ON", func(f *Finding) string { return f.On })
	}
	if c := r.Change; c != nil {
		bw.printf("\nWould break under bundle %s: %d\n", c.Bundle.Revision, len(c.Breaks))
		section(bw, c.Breaks, "", nil)
		bw.printf("\nWould clear under bundle %s: %d\n", c.Bundle.Revision, len(c.Clears))
		section(bw, c.Clears, "", nil)
	}
	return bw.err
}

func section(bw *errWriter, fs []Finding, dateHead string, date func(*Finding) string) {
	if len(fs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	head := "  DATASET\tTENANT\tWHAT\tRULES"
	if date != nil {
		head += "\t" + dateHead
	}
	fmt.Fprintln(tw, head)
	for i := range fs {
		f := &fs[i]
		row := fmt.Sprintf("  %s\t%s\t%s\t%s", f.data(), dash(f.Tenant), f.What(), strings.Join(f.Rules(), ", "))
		if date != nil {
			row += "\t" + date(f)
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
	for i := range fs {
		f := &fs[i]
		bw.printf("  %s, %s:\n", f.data(), f.What())
		for _, v := range f.Violations {
			bw.printf("    - %s: %s [%s]\n", v.Rule, v.Message, v.Citation)
		}
		for _, b := range f.Because {
			bw.printf("    because %s\n", b)
		}
	}
}

// data is the dataset a copy or flow holds, or the datasets a workload
// declares.
func (f *Finding) data() string {
	if f.Kind == KindWorkload {
		return strings.Join(f.Datasets, ",")
	}
	return f.Dataset
}

// What says in words which copy or flow a finding is about.
func (f *Finding) What() string {
	switch f.Kind {
	case KindStored:
		return "stored at " + f.Site
	case KindWorkload:
		return f.Object + " at " + strings.Join(f.Sites, ", ")
	}
	return fmt.Sprintf("%s %s -> %s", f.Type, f.From, f.To)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
