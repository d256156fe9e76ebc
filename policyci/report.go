// Package policyci checks a policy change the way a pull request needs it:
// `sovereign test` runs a policy directory's Rego tests and golden scenarios,
// `sovereign check` compiles it strictly and lints its rule metadata and
// reference data, and `sovereign diff` shows every decision a change would
// make differently, on scenarios and on requests replayed from the audit log.
package policyci

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/sovereign-engine/sovereign/engine"
)

// Result statuses: engine.StatusPass, StatusFail, StatusError, StatusSkip,
// and StatusWarn for a finding that does not fail the run.
const StatusWarn = "warn"

// Suites name where a result comes from.
const (
	SuiteCompile   = "compile"   // the policy does not compile (the run could not go on)
	SuiteStrict    = "strict"    // strict compile: unused imports and variables, ...
	SuiteRego      = "rego"      // a Rego test (*_test.rego)
	SuiteScenario  = "scenario"  // a golden scenario
	SuiteCoverage  = "coverage"  // coverage under the threshold
	SuiteMetadata  = "metadata"  // rule METADATA: id, effect, citation, unique ids
	SuiteReference = "reference" // reference data: ISO codes, dates, sources
	SuiteFormat    = "format"    // a .rego file not formatted as opa fmt formats it
	SuiteOmission  = "omission"  // a negation or inequality an absent input makes undefined
	SuiteMutation  = "mutation"  // a surviving mutant, or the mutation score (test --mutate)
)

// Result is one test, scenario or finding.
type Result struct {
	Suite    string        `json:"suite"`
	Name     string        `json:"name"`
	File     string        `json:"file,omitempty"`
	Line     int           `json:"line,omitempty"`
	Status   string        `json:"status"`
	Message  string        `json:"message,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// Failed reports whether r fails the run.
func (r Result) Failed() bool { return r.Status == engine.StatusFail || r.Status == engine.StatusError }

// Report is the outcome of `sovereign test` or `sovereign check` on a
// policy directory.
type Report struct {
	Command string   `json:"command"` // test | check
	Dir     string   `json:"dir"`
	Results []Result `json:"results"`
	// Broken is a policy that could not be tested or checked at all (it does
	// not compile, a scenario file is malformed): exit code 2.
	Broken   bool             `json:"broken"`
	Coverage *engine.Coverage `json:"coverage,omitempty"`
	// Threshold is the minimum coverage in percent (0: none).
	Threshold float64 `json:"threshold,omitempty"`
	// Mutation is the mutation run of test --mutate.
	Mutation *MutationScore `json:"mutation,omitempty"`
	Counts   Counts         `json:"counts"`
}

// Counts sums a report's results by status.
type Counts struct {
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Errors   int `json:"errors"`
	Skipped  int `json:"skipped"`
	Warnings int `json:"warnings"`
}

func (r *Report) add(res ...Result) {
	for _, x := range res {
		r.Results = append(r.Results, x)
		switch x.Status {
		case engine.StatusPass:
			r.Counts.Passed++
		case engine.StatusFail:
			r.Counts.Failed++
		case engine.StatusError:
			r.Counts.Errors++
		case engine.StatusSkip:
			r.Counts.Skipped++
		case StatusWarn:
			r.Counts.Warnings++
		}
	}
}

// ExitCode is 0 when everything passed, 1 when something failed, 2 when the
// policy could not be tested or checked.
func (r *Report) ExitCode() int {
	switch {
	case r.Broken:
		return 2
	case r.Counts.Failed > 0 || r.Counts.Errors > 0:
		return 1
	default:
		return 0
	}
}

// Formats of Write.
const (
	FormatPretty = "pretty"
	FormatJSON   = "json"
	FormatJUnit  = "junit"
	FormatGitHub = "github"
)

// ParseFormat checks a format name against the allowed ones.
func ParseFormat(name string, allowed ...string) (string, error) {
	for _, a := range allowed {
		if name == a {
			return name, nil
		}
	}
	return "", fmt.Errorf("--format %q: want one of %s", name, strings.Join(allowed, ", "))
}

// Write renders the report in a format: pretty (for people), json, junit (for
// CI test reporters) or github (workflow commands: an annotation on the file
// and line of every failure and warning, then a summary line).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatJUnit:
		return r.writeJUnit(w)
	case FormatGitHub:
		return r.writeGitHub(w)
	default:
		return r.writePretty(w)
	}
}

func (r *Report) writePretty(w io.Writer) error {
	var b strings.Builder
	for _, x := range r.Results {
		if x.Status == engine.StatusPass {
			continue
		}
		fmt.Fprintf(&b, "%-5s %-9s %s", strings.ToUpper(x.Status), x.Suite, x.Name)
		if x.File != "" {
			fmt.Fprintf(&b, " (%s)", location(x))
		}
		if x.Message != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(x.Message, "\n", "\n      "))
		}
		b.WriteByte('\n')
	}
	if r.Coverage != nil {
		fmt.Fprintf(&b, "coverage: %.1f%% of %d policy lines", r.Coverage.Percent, r.Coverage.Covered+r.Coverage.NotCovered)
		if r.Threshold > 0 {
			fmt.Fprintf(&b, " (threshold %.1f%%)", r.Threshold)
		}
		b.WriteByte('\n')
	}
	if r.Mutation != nil {
		fmt.Fprintf(&b, "%s (minimum %.1f%%)\n", r.Mutation, r.Mutation.MinScore)
	}
	verdict := map[int]string{0: "PASS", 1: "FAIL", 2: "ERROR"}[r.ExitCode()]
	fmt.Fprintf(&b, "%s: %s %s: %d passed, %d failed, %d errors, %d skipped, %d warnings\n",
		verdict, r.Command, r.Dir, r.Counts.Passed, r.Counts.Failed, r.Counts.Errors, r.Counts.Skipped, r.Counts.Warnings)
	_, err := io.WriteString(w, b.String())
	return err
}

func location(x Result) string {
	if x.Line > 0 {
		return fmt.Sprintf("%s:%d", x.File, x.Line)
	}
	return x.File
}

// writeGitHub writes GitHub Actions workflow commands
// (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
func (r *Report) writeGitHub(w io.Writer) error {
	var b strings.Builder
	for _, x := range r.Results {
		var level string
		switch {
		case x.Failed():
			level = "error"
		case x.Status == StatusWarn:
			level = "warning"
		default:
			continue
		}
		props := []string{}
		if x.File != "" {
			props = append(props, "file="+ghProperty(x.File))
			if x.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", x.Line))
			}
		}
		props = append(props, "title="+ghProperty(fmt.Sprintf("sovereign %s: %s %s", r.Command, x.Suite, x.Name)))
		msg := x.Message
		if msg == "" {
			msg = x.Status
		}
		fmt.Fprintf(&b, "::%s %s::%s\n", level, strings.Join(props, ","), ghData(msg))
	}
	if r.Coverage != nil {
		fmt.Fprintf(&b, "::notice title=%s::%s\n", ghProperty("sovereign test: coverage"), ghData(fmt.Sprintf("%.1f%% of policy lines covered", r.Coverage.Percent)))
	}
	fmt.Fprintf(&b, "sovereign %s %s: %d passed, %d failed, %d errors, %d skipped, %d warnings\n",
		r.Command, r.Dir, r.Counts.Passed, r.Counts.Failed, r.Counts.Errors, r.Counts.Skipped, r.Counts.Warnings)
	_, err := io.WriteString(w, b.String())
	return err
}

// ghData escapes a workflow command's message; ghProperty a property value.
func ghData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func ghProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// The JUnit XML schema as CI test reporters (GitHub, GitLab, Jenkins) read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// writeJUnit writes one testsuite per suite; warnings are passing cases whose
// system-out says what to look at.
func (r *Report) writeJUnit(w io.Writer) error {
	bySuite := map[string]*junitSuite{}
	var order []string
	var durations = map[string]time.Duration{}
	for _, x := range r.Results {
		s := bySuite[x.Suite]
		if s == nil {
			s = &junitSuite{Name: "sovereign " + r.Command + " " + x.Suite}
			bySuite[x.Suite] = s
			order = append(order, x.Suite)
		}
		c := junitCase{Name: x.Name, Classname: x.Suite, File: x.File, Line: x.Line, Time: seconds(x.Duration)}
		if c.Classname == SuiteScenario || c.Classname == SuiteRego {
			c.Classname = x.Suite + "." + strings.TrimSuffix(baseName(x.File), ".yaml")
		}
		msg := &junitMessage{Message: firstLine(x.Message), Text: x.Message}
		switch x.Status {
		case engine.StatusFail:
			c.Failure = msg
			s.Failures++
		case engine.StatusError:
			c.Error = msg
			s.Errors++
		case engine.StatusSkip:
			c.Skipped = msg
			s.Skipped++
		case StatusWarn:
			c.SystemOut = "warning: " + x.Message
		}
		s.Tests++
		durations[x.Suite] += x.Duration
		s.Cases = append(s.Cases, c)
	}
	sort.Strings(order)
	doc := junitSuites{Name: "sovereign " + r.Command + " " + r.Dir}
	for _, name := range order {
		s := bySuite[name]
		s.Time = seconds(durations[name])
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Suites = append(doc.Suites, *s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
