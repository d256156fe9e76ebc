package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/bundles"
	"github.com/sovereign-engine/sovereign/engine"
	"github.com/sovereign-engine/sovereign/policyci"
)

// The fixtures of testdata/policyci (its README says what each holds).
const fixtures = "../../testdata/policyci"

func fixture(name string) string { return filepath.Join(fixtures, name) }

func TestTestCommand(t *testing.T) {
	scen := fixture("scenarios")
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"pass", []string{"test", fixture("pass"), "--scenarios", scen}, 0, []string{"PASS: test", "7 passed, 0 failed, 0 errors"}},
		{"fail", []string{"test", fixture("fail"), "--scenarios", scen}, 1, []string{
			"FAIL  rego      sovereign.rules.residency_test.test_us_allowed_wrongly (" + fixture("fail/sovereign/rules/residency_test.rego") + ":19)",
			"FAIL  scenario  pii-eu over every site (" + scen + "/small.yaml:5)",
			"allowed = [fra-1 fra-2], want [fra-1 fra-2 par-1]",
			"6 passed, 2 failed, 0 errors",
		}},
		{"does not compile", []string{"test", fixture("broken"), "--scenarios", scen}, 2, []string{
			"ERROR compile   rego_parse_error (" + fixture("broken/sovereign/rules/residency.rego") + ":10)",
		}},
		{"github annotations", []string{"test", fixture("fail"), "--scenarios", scen, "--format", "github"}, 1, []string{
			"::error file=" + fixture("fail/sovereign/rules/residency_test.rego") + ",line=19,title=sovereign test%3A rego sovereign.rules.residency_test.test_us_allowed_wrongly::test failed\n",
			"::error file=" + scen + "/small.yaml,line=5,",
		}},
		{"coverage under threshold", []string{"test", fixture("pass"), "--coverage", "--threshold", "90"}, 1, []string{"FAIL  coverage  threshold", "is below the threshold 90.0%"}},
		{"coverage over threshold", []string{"test", fixture("pass"), "--coverage", "--threshold", "20"}, 0, []string{"coverage: 30.8% of 39 policy lines (threshold 20.0%)"}},
		{"threshold without coverage", []string{"test", fixture("pass"), "--threshold", "20"}, 2, []string{"--threshold needs --coverage"}},
		{"bad scenario directory", []string{"test", fixture("pass"), "--scenarios", fixture("pass")}, 2, []string{"no *.yaml files"}},
		{"bad format", []string{"test", fixture("pass"), "--format", "tap"}, 2, []string{`--format "tap": want one of pretty, json, junit, github`}},
		{"mutate: every mutant killed", []string{"test", fixture("mutate"), "--mutate"}, 0, []string{
			"mutation score 100.0%: 5 of 5 valid mutants killed (0 of them documented equivalent), 0 survived",
			"PASS: test",
		}},
		{"mutate: survivors under the minimum", []string{"test", fixture("pass"), "--mutate"}, 1, []string{
			"WARN  mutation  sovereign/rules/residency.rego:33 transfer_violations delete (" + fixture("pass/sovereign/rules/residency.rego") + ":33)",
			"WARN  mutation  sovereign/rules/residency.rego:48 dataset.encrypt_at_rest drop `not d.encryption.at_rest` (",
			"FAIL  mutation  score",
			"mutation score 16.7%: 3 of 18 valid mutants killed (0 of them documented equivalent), 15 survived; 18 tried of 18, 0 not valid: below --min-score 100.0%",
			"mutant 4: survived sovereign/rules/residency.rego:33 transfer_violations delete",
		}},
		{"mutate: survivors over the minimum", []string{"test", fixture("pass"), "--mutate", "--min-score", "15"}, 0, []string{"15 survived", "(minimum 15.0%)", "PASS: test"}},
		{"mutate: a sample", []string{"test", fixture("pass"), "--mutate", "--mutants", "3", "--min-score", "0"}, 0, []string{"3 tried of 18"}},
		{"mutate: not on failing tests", []string{"test", fixture("fail"), "--mutate"}, 1, []string{"mutation testing not run: the tests must pass on the policy itself first"}},
		{"mutants without mutate", []string{"test", fixture("pass"), "--mutants", "3"}, 2, []string{"--mutants and --equivalents need --mutate"}},
		{"min-score out of range", []string{"test", fixture("pass"), "--mutate", "--min-score", "101"}, 2, []string{"--min-score 101: want a percentage between 0 and 100"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, want := range c.contains {
				if !strings.Contains(out+errOut, want) {
					t.Errorf("output lacks %q:\n%s%s", want, out, errOut)
				}
			}
		})
	}
}

// The mutants an equivalents file documents count as killed; one that names
// no mutant is reported, and a reason left empty refuses the file.
func TestTestCommandMutateEquivalents(t *testing.T) {
	code, out, _ := runCLI(t, "", "test", fixture("pass"), "--mutate", "--format", "json")
	var rep policyci.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("json (exit %d): %v\n%s", code, err, out)
	}
	eq := map[string]string{"sovereign/rules/residency.rego:1 gone delete": "a rule that is no more"}
	for _, r := range rep.Results {
		if r.Suite == policyci.SuiteMutation && r.Status == policyci.StatusWarn {
			eq[r.Name] = "documented for the test"
		}
	}
	if len(eq) != 16 || rep.Mutation == nil || rep.Mutation.Survived != 15 {
		t.Fatalf("survivors: %d in the report, %+v", len(eq)-1, rep.Mutation)
	}
	file := filepath.Join(t.TempDir(), "eq.json")
	raw, _ := json.Marshal(eq)
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "test", fixture("pass"), "--mutate", "--equivalents", file)
	for _, want := range []string{
		"mutation score 100.0%: 18 of 18 valid mutants killed (15 of them documented equivalent), 0 survived",
		"WARN  mutation  sovereign/rules/residency.rego:1 gone delete (" + file + ")",
		"PASS: test",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, errOut)
		}
	}
	if code != 0 {
		t.Errorf("exit %d with every survivor documented", code)
	}

	eq["sovereign/rules/residency.rego:33 transfer_violations delete"] = " "
	raw, _ = json.Marshal(eq)
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "", "test", fixture("pass"), "--mutate", "--equivalents", file)
	if code != 2 || !strings.Contains(out, `the reason is empty`) {
		t.Errorf("exit %d, want 2 for an empty reason:\n%s", code, out)
	}
}

func TestTestCommandJUnitAndJSON(t *testing.T) {
	code, out, _ := runCLI(t, "", "test", fixture("fail"), "--scenarios", fixture("scenarios"), "--format", "junit")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("junit: %v\n%s", err, out)
	}
	var failed []string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				failed = append(failed, s.Name+": "+c.Name)
			}
		}
	}
	want := []string{"sovereign test rego: sovereign.rules.residency_test.test_us_allowed_wrongly", "sovereign test scenario: pii-eu over every site"}
	if doc.Tests != 8 || doc.Failures != 2 || !slices.Equal(failed, want) {
		t.Errorf("junit: %d tests, %d failures, failed %q", doc.Tests, doc.Failures, failed)
	}

	code, out, _ = runCLI(t, "", "test", fixture("pass"), "--scenarios", fixture("scenarios"), "--format", "json", "--coverage")
	var rep policyci.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 {
		t.Fatalf("json (exit %d): %v\n%s", code, err, out)
	}
	if rep.Counts.Passed != 7 || rep.Coverage == nil || len(rep.Coverage.Files) != 3 {
		t.Errorf("json report: %+v", rep)
	}
}

func TestCheckCommand(t *testing.T) {
	code, out, errOut := runCLI(t, "", "check", fixture("pass"))
	if code != 0 {
		t.Errorf("pass: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "", "check", "../../policies"); code != 0 {
		t.Errorf("the built-in library: exit %d\n%s", code, out)
	}
	code, out, errOut = runCLI(t, "", "check", fixture("broken"))
	if code != 2 || !strings.Contains(out, "rego_parse_error") {
		t.Errorf("broken: exit %d\n%s%s", code, out, errOut)
	}

	code, out, _ = runCLI(t, "", "check", fixture("fail"), "--format", "json")
	if code != 1 {
		t.Fatalf("fail: exit %d\n%s", code, out)
	}
	var rep policyci.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Results {
		if r.Status != engine.StatusPass {
			got = append(got, r.Status+" "+r.Suite+" "+filepath.Base(r.File)+":"+strconv.Itoa(r.Line)+" "+r.Message)
		}
	}
	want := []string{
		"fail strict residency.rego:6 import data.reference unused",
		`fail metadata residency.rego:42 rule "dataset.encrypt_at_rest" has no citation`,
		`fail metadata residency.rego:65 rule "dataset.residency" is also documented at sovereign/rules/residency.rego:19`,
		`fail reference data.json:8 groups.EEA.members.UK: "UK" is not an ISO 3166-1 alpha-2 country code nor a group name`,
		"fail reference data.json:10 groups.EEA.versions[0].valid_until: 1993-12-31 is before valid_from 1994-01-01",
		"warn reference data.json:11 groups.EEA.versions[1].valid_from: gap: the previous version ends 1993-12-31, this one starts 1995-01-01 (nothing in force between)",
		"fail reference data.json:11 groups.EEA.versions[1].source: a dated entry needs a source (where the fact comes from)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("check findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A policy opa fmt would change fails check, naming the file and line.
	unformatted := t.TempDir()
	if err := os.CopyFS(unformatted, os.DirFS(fixture("pass"))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(unformatted, "sovereign", "extra.rego"), []byte("package sovereign.extra\n\nx   :=   1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "", "check", unformatted)
	if code != 1 || !strings.Contains(out, "extra.rego:3") || !strings.Contains(out, "opa fmt -w") {
		t.Errorf("an unformatted file passed check (exit %d):\n%s", code, out)
	}

	code, out, _ = runCLI(t, "", "check", fixture("fail"), "--format", "github")
	if code != 1 || !strings.Contains(out, "::error file="+fixture("fail/reference/data.json")+",line=8,") ||
		!strings.Contains(out, "::warning file="+fixture("fail/reference/data.json")+",line=11,") {
		t.Errorf("github format (exit %d):\n%s", code, out)
	}
}

// wantChanges are the decisions head/ makes differently from pass/ on the
// fixture scenarios (testdata/policyci/README.md lists the edits).
var wantChanges = []string{
	"small.yaml:5 fra-2 allowed→denied +v[sovereign.us_operator]",
	"small.yaml:5 iad-1  +v[sovereign.us_operator]",
	"small.yaml:5 zrh-1 denied→allowed -v[dataset.residency]",
	"small.yaml:14 fra-2 allowed→denied +v[sovereign.us_operator]",
	"small.yaml:14 iad-1  +v[sovereign.us_operator]",
	"small.yaml:17 -  +v[sovereign.us_operator] +o[dataset.transfer_record] -o[dataset.encrypt_at_rest]",
	"small.yaml:20 - denied→allowed -v[dataset.residency] +o[dataset.transfer_record] -o[dataset.encrypt_at_rest]",
}

// changeLines renders changes compactly for comparison; prefix maps a
// change's request to what the line starts with.
func changeLines(changes []policyci.Change, prefix func(policyci.Change) string) []string {
	var out []string
	for _, c := range changes {
		site := c.Site
		if site == "" {
			site = "-"
		}
		line := prefix(c) + " " + site + " " + c.Verdict
		for _, x := range []struct {
			mark string
			ids  []string
		}{{"+v", c.ViolationsAdded}, {"-v", c.ViolationsRemoved}, {"+o", c.ObligationsAdded}, {"-o", c.ObligationsRemoved}, {"+w", c.WarningsAdded}, {"-w", c.WarningsRemoved}} {
			if len(x.ids) > 0 {
				line += " " + x.mark + "[" + strings.Join(x.ids, ",") + "]"
			}
		}
		if c.BaseError != "" || c.HeadError != "" {
			line += " error base=" + c.BaseError + " head=" + c.HeadError
		}
		out = append(out, line)
	}
	return out
}

func scenarioPrefix(c policyci.Change) string {
	_, loc, _ := strings.Cut(c.Request, "scenario ")
	return filepath.Base(loc)
}

func runDiff(t *testing.T, args ...string) (int, *policyci.DiffResult, string) {
	t.Helper()
	code, out, errOut := runCLI(t, "", append([]string{"diff", "--format", "json"}, args...)...)
	var res policyci.DiffResult
	if code == 0 || code == 1 {
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("diff json: %v\n%s%s", err, out, errOut)
		}
	}
	return code, &res, out + errOut
}

func TestDiffScenarios(t *testing.T) {
	// The same pair as directories and as bundle files.
	tmp := t.TempDir()
	files := map[string]string{}
	for _, name := range []string{"pass", "head"} {
		path := filepath.Join(tmp, name+".tar.gz")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := bundles.Build(context.Background(), fixture(name), f, bundles.BuildOptions{Revision: "built-" + name}); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		files[name] = path
	}
	for _, c := range []struct{ name, base, head string }{
		{"directories", fixture("pass"), fixture("head")},
		{"bundles", files["pass"], files["head"]},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, res, out := runDiff(t, "--base", c.base, "--head", c.head, "--scenarios", fixture("scenarios"))
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			if got := changeLines(res.Changes, scenarioPrefix); !slices.Equal(got, wantChanges) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantChanges, "\n"))
			}
			want := policyci.DiffCounts{Requests: 5, RequestsChanged: 4, Decisions: 17, AllowedToDenied: 2, DeniedToAllowed: 2,
				ViolationsAdded: 5, ViolationsRemoved: 2, ObligationsAdded: 2, ObligationsRemoved: 2}
			if res.Counts != want {
				t.Errorf("counts %+v, want %+v", res.Counts, want)
			}
		})
	}

	// Exit codes: --fail-on, no change, errors.
	scen := fixture("scenarios")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail on denied-to-allowed", []string{"--base", fixture("pass"), "--head", fixture("head"), "--scenarios", scen, "--fail-on", "denied-to-allowed"}, 1, "2 denied→allowed"},
		{"fail on any", []string{"--base", fixture("head"), "--head", fixture("pass"), "--scenarios", scen, "--fail-on", "any"}, 1, "7 decisions change"},
		{"the reverse change allows what head refused", []string{"--base", fixture("head"), "--head", fixture("pass"), "--scenarios", scen, "--fail-on", "denied-to-allowed"}, 1, "(2 denied→allowed)"},
		{"no change", []string{"--base", fixture("pass"), "--head", fixture("pass"), "--scenarios", scen, "--fail-on", "any"}, 0, `"requests_changed": 0`},
		{"head does not compile", []string{"--base", fixture("pass"), "--head", fixture("broken"), "--scenarios", scen}, 2, "--head " + fixture("broken") + ": read bundle"},
		{"neither file, directory nor ref", []string{"--base", "no-such-ref-xyz", "--head", fixture("pass"), "--scenarios", scen}, 2, "is neither a file, a directory nor a git ref"},
		{"nothing to compare on", []string{"--base", fixture("pass"), "--head", fixture("head")}, 2, "give --scenarios DIR, --replay LOG or --drift INVENTORY"},
		{"bad fail-on", []string{"--base", fixture("pass"), "--head", fixture("head"), "--scenarios", scen, "--fail-on", "some"}, 2, `--fail-on "some"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, out := runDiff(t, c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s", code, c.code, c.want, out)
			}
		})
	}

	// Markdown: summary table, then the changes grouped by rule.
	code, md, _ := runCLI(t, "", "diff", "--base", fixture("pass"), "--head", fixture("head"), "--scenarios", scen)
	for _, want := range []string{
		"**4 of 5 requests decide differently.**",
		"| **denied → allowed** | 2 |",
		"**`sovereign.us_operator`**: 5 decisions, 2 of them change verdict",
		"| scenario " + filepath.ToSlash(scen) + "/small.yaml:5 | pii-eu over every site | fra-2 | violation added | allowed→denied |",
		"| scenario " + filepath.ToSlash(scen) + "/small.yaml:20 | pii-eu to zrh-1 | – | violation removed | **denied→allowed** |",
	} {
		if code != 0 || !strings.Contains(md, want) {
			t.Errorf("markdown (exit %d) lacks %q:\n%s", code, want, md)
		}
	}
}

// TestDiffGitRefs compares two commits of a repository made for the test.
func TestDiffGitRefs(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required (.ci/run installs it)")
	}
	repo := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q", "-b", "main")
	if err := os.CopyFS(filepath.Join(repo, "rules"), os.DirFS(fixture("pass"))); err != nil {
		t.Fatal(err)
	}
	gitRun("add", "-A")
	gitRun("commit", "-q", "-m", "base")
	if err := os.RemoveAll(filepath.Join(repo, "rules")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(repo, "rules"), os.DirFS(fixture("head"))); err != nil {
		t.Fatal(err)
	}
	gitRun("add", "-A")
	gitRun("commit", "-q", "-m", "head")
	// Uncommitted edits do not count: a ref is what was committed.
	if err := os.WriteFile(filepath.Join(repo, "rules", "sovereign", "placement.rego"), []byte("package broken {"), 0o644); err != nil {
		t.Fatal(err)
	}

	code, res, out := runDiff(t, "--repo", repo, "--policy-dir", "rules", "--base", "main~1", "--head", "HEAD", "--scenarios", fixture("scenarios"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if got := changeLines(res.Changes, scenarioPrefix); !slices.Equal(got, wantChanges) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantChanges, "\n"))
	}
	if res.Base.Kind != "git" || len(res.Base.Commit) != 40 || res.Head.Revision != "fixture-head" {
		t.Errorf("sources: %+v %+v", res.Base, res.Head)
	}
	// REF:DIR, and a directory that is not there at that ref.
	if code, _, out := runDiff(t, "--repo", repo, "--base", "HEAD:rules", "--head", "HEAD:rules", "--scenarios", fixture("scenarios"), "--fail-on", "any"); code != 0 {
		t.Errorf("HEAD:rules against itself: exit %d\n%s", code, out)
	}
	if code, _, out := runDiff(t, "--repo", repo, "--base", "HEAD", "--head", "HEAD", "--scenarios", fixture("scenarios")); code != 2 || !strings.Contains(out, "extract policies") {
		t.Errorf("missing policy dir: exit %d\n%s", code, out)
	}
}

// TestDiffReplay writes a log of real decisions (through the API's audit
// path) made by pass/, then replays it under pass/ and head/.
func TestDiffReplay(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	l, err := audit.Open(ctx, audit.Options{DataDir: dataDir, Origin: "sovereign/replay-test", Redact: []string{"mechanism.reference"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.LoadPolicy(fixture("pass"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := engine.LoadInventory(fixture("inventory/small"))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(ctx, p, inv)
	if err != nil {
		t.Fatal(err)
	}
	dlog := api.AuditDecisionLog{Log: l}
	requests := []struct{ kind, body string }{
		{"placement", `{"dataset": "pii-eu", "operation": "store"}`},                                                                                    // #1: every site
		{"placement", `{"dataset": "health-de", "operation": "process", "candidates": ["fra-1", "fra-2"]}`},                                             // #2
		{"placement", `{"dataset": "catalog", "operation": "store", "at": "2026-01-01T00:00:00Z"}`},                                                     // #3: no change
		{"transfer", `{"dataset": "pii-eu", "from": "fra-1", "to": "zrh-1", "type": "backup"}`},                                                         // #4
		{"transfer", `{"dataset": "pii-eu", "from": "fra-1", "to": "iad-1", "type": "replicate", "mechanism": {"kind": "scc", "reference": "SCC #1"}}`}, // #5: redacted
		{"placement", `{"dataset": "catalog", "operation": "store", "at": "2026-01-01T00:00:00Z"}`},                                                     // #6: #3 again, evaluated once
		{"placement", `{"dataset": "pii-eu", "operation": "store"}`},                                                                                    // #7: #1 again, the same day: evaluated once (no rule reads the time)
	}
	// Index 0 is a non-decision record: replay skips it without counting.
	if _, err := l.Append(ctx, &audit.Record{Kind: audit.KindInventoryActivation, Principal: "system", EngineVersion: engine.Version, InventoryRevision: inv.Revision}); err != nil {
		t.Fatal(err)
	}
	for _, r := range requests {
		var d *engine.Decision
		if r.kind == "placement" {
			var req engine.PlacementRequest
			if err := json.Unmarshal([]byte(r.body), &req); err != nil {
				t.Fatal(err)
			}
			d, err = eng.Placement(ctx, &req)
		} else {
			var req engine.TransferRequest
			if err := json.Unmarshal([]byte(r.body), &req); err != nil {
				t.Fatal(err)
			}
			d, err = eng.Transfer(ctx, &req)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dlog.LogDecision(ctx, api.DecisionEntry{Kind: r.kind, Principal: `Tenant::"acme"`, Request: []byte(r.body), Decision: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dataDir, audit.SigningPublicKeysFile)
	replayArgs := []string{"--base", fixture("pass"), "--head", fixture("head"), "--replay", dataDir, "--public-key", pub, "--inventory", fixture("inventory/small")}

	code, res, out := runDiff(t, replayArgs...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := []string{
		"log #1 fra-2 allowed→denied +v[sovereign.us_operator]",
		"log #1 iad-1  +v[sovereign.us_operator]",
		"log #1 zrh-1 denied→allowed -v[dataset.residency]",
		"log #2 fra-2 allowed→denied +v[sovereign.us_operator]",
		"log #4 - denied→allowed -v[dataset.residency] +o[dataset.transfer_record] -o[dataset.encrypt_at_rest]",
		"log #7 fra-2 allowed→denied +v[sovereign.us_operator]",
		"log #7 iad-1  +v[sovereign.us_operator]",
		"log #7 zrh-1 denied→allowed -v[dataset.residency]",
	}
	got := changeLines(res.Changes, func(c policyci.Change) string { return c.Request })
	if !slices.Equal(got, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rp := res.Replay
	if rp == nil || rp.TreeSize != 8 || rp.Records != 8 || rp.Decisions != 6 || rp.Skipped["request has redacted fields"] != 1 || !rp.ByDate ||
		rp.BaseFromLog != 6 || rp.Evaluations != 4 || rp.Reproduced != 0 || rp.Verification != "window" || rp.Origin != "sovereign/replay-test" {
		t.Errorf("replay summary: %+v", rp)
	}
	// Deciding base again reproduces what the log holds, and finds the same changes.
	code, res, out = runDiff(t, append(replayArgs, "--reevaluate-base")...)
	if got := changeLines(res.Changes, func(c policyci.Change) string { return c.Request }); code != 0 || !slices.Equal(got, want) {
		t.Errorf("--reevaluate-base: exit %d, changes:\n%s\n%s", code, strings.Join(got, "\n"), out)
	}
	if rp := res.Replay; rp == nil || rp.BaseFromLog != 0 || rp.Evaluations != 8 || rp.Reproduced != 6 || rp.NotReproduced != 0 {
		t.Errorf("--reevaluate-base summary: %+v", rp)
	}
	// As of one time: the same changes (the fixture policy reads no dates),
	// every request decided under both, identical ones once.
	code, res, out = runDiff(t, append(replayArgs, "--at", "2027-03-01")...)
	if got := changeLines(res.Changes, func(c policyci.Change) string { return c.Request }); code != 0 || !slices.Equal(got, want) {
		t.Errorf("--at: exit %d, changes:\n%s\n%s", code, strings.Join(got, "\n"), out)
	}
	if rp := res.Replay; rp == nil || rp.BaseFromLog != 0 || rp.Evaluations != 8 || !rp.At.Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("--at summary: %+v", rp)
	}
	// Replayed on another inventory, every outcome is decided again.
	if code, res, out := runDiff(t, "--base", fixture("pass"), "--head", fixture("head"), "--replay", dataDir, "--public-key", pub, "--inventory", "../../testdata/inventory/demo"); code != 0 || res.Replay.OtherInventory != 6 || res.Replay.BaseFromLog != 0 {
		t.Errorf("other inventory: exit %d\n%s", code, out)
	}

	// --full-verify, and a window that holds no decision.
	if code, res, out := runDiff(t, append(replayArgs, "--full-verify")...); code != 0 || res.Replay.Verification != "full" || len(res.Changes) != 8 {
		t.Errorf("--full-verify: exit %d\n%s", code, out)
	}
	if code, res, out := runDiff(t, append(replayArgs, "--from", "2999-01-01")...); code != 0 || res.Replay.Decisions != 0 || len(res.Changes) != 0 {
		t.Errorf("--from in the future: exit %d\n%s", code, out)
	}
	// With scenarios too, both are reported.
	if code, res, out := runDiff(t, append(replayArgs, "--scenarios", fixture("scenarios"))...); code != 0 || len(res.Changes) != 15 || res.Scenarios != 5 {
		t.Errorf("replay and scenarios: exit %d, %d changes\n%s", code, len(res.Changes), out)
	}

	// A checkpoint the witness of --witness-key never cosigned is not
	// trusted: nothing is replayed.
	if code, _, out := runDiff(t, append(replayArgs, "--witness-key", newWitnessKey(t))...); code != 2 || !strings.Contains(out, "does not verify") || !strings.Contains(out, "witness") {
		t.Errorf("--witness-key of a witness that never cosigned: exit %d\n%s", code, out)
	}

	// A log altered after the fact is refused, nothing replayed.
	bundlePath := filepath.Join(dataDir, audit.LogDir, "tile", "entries", "000.p", "8")
	raw, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(raw), "zrh-1")
	if i < 0 {
		t.Fatal("no zrh-1 in the entry bundle")
	}
	copy(raw[i:], "zrh-2")
	if err := os.WriteFile(bundlePath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, out := runDiff(t, replayArgs...); code != 2 || !strings.Contains(out, "does not verify, nothing replayed") {
		t.Errorf("tampered log: exit %d\n%s", code, out)
	}
}

// The README's diff on the project's own scenarios, some of which expect the
// request to be refused (no decision): it crashed on them (found by
// internal/doctest). The same policy on both sides changes nothing.
func TestDiffOnRefusedScenarios(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "diff", "--base", "../../policies", "--head", "../../policies",
		"--scenarios", "../../testdata/scenarios", "--format", "json", "--fail-on", "any")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var res policyci.DiffResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Scenarios == 0 || len(res.Changes) != 0 {
		t.Fatalf("diff of a policy with itself: %v %+v", err, res.Counts)
	}
}

// TestDiffDrift: --drift judges where data is today under base and head.
// Head drops the EU adequacy decision for the US (as the EU courts could):
// the demo's copy of customer-pii-eu at iad-1 and its backup flow to it
// break; the reverse change clears them.
func TestDiffDrift(t *testing.T) {
	head := filepath.Join(t.TempDir(), "policies")
	if err := os.CopyFS(head, os.DirFS("../../policies")); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(head, "reference", "data.json")
	raw, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for _, v := range data["gdpr"].(map[string]any)["adequacy"].(map[string]any)["versions"].([]any) {
		countries := v.(map[string]any)["countries"].(map[string]any)
		if _, ok := countries["US"]; ok {
			delete(countries, "US")
			dropped++
		}
	}
	if dropped == 0 {
		t.Fatal("the reference data has no EU adequacy decision for the US to drop")
	}
	if raw, err = json.Marshal(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ref, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	base := "../../policies"
	day := []string{"--drift", demoInventory, "--drift-at", "2026-12-03"}

	code, res, out := runDiff(t, append([]string{"--base", base, "--head", head, "--fail-on", "any"}, day...)...)
	if code != 1 || res.Drift == nil {
		t.Fatalf("exit %d (want 1: something breaks)\n%s", code, out)
	}
	d := res.Drift
	var breaks []string
	for _, f := range d.Breaks {
		breaks = append(breaks, fmt.Sprintf("%s %s %s%s->%s %v", f.Dataset, f.Kind, f.Site, f.From, f.To, f.Rules()))
	}
	want := []string{"customer-pii-eu stored iad-1-> [gdpr.chapter5.no_basis]", "customer-pii-eu flow fra-1->iad-1 [gdpr.chapter5.no_basis]"}
	if !slices.Equal(breaks, want) || len(d.Clears) != 0 || d.At != "2026-12-03" || d.OutOfCompliance.Head != d.OutOfCompliance.Base+2 {
		t.Errorf("drift %+v\nbreaks %q, want %q", d, breaks, want)
	}
	if len(res.Changes) != 0 || res.Counts.Requests != 0 {
		t.Errorf("no request was compared, yet %+v", res.Counts)
	}
	// The reverse: the same copies clear, and clearing is what
	// --fail-on denied-to-allowed guards against.
	code, res, out = runDiff(t, append([]string{"--base", head, "--head", base, "--fail-on", "denied-to-allowed"}, day...)...)
	if code != 1 || res.Drift == nil || len(res.Drift.Clears) != 2 || len(res.Drift.Breaks) != 0 || !strings.Contains(out, "2 clear") {
		t.Errorf("reverse: exit %d\n%s", code, out)
	}
	// The pull request comment.
	code, md, _ := runCLI(t, "", append([]string{"diff", "--base", base, "--head", head}, day...)...)
	for _, w := range []string{"#### Where data is today: 2 would break, 0 would clear", "| customer-pii-eu | acme | stored at iad-1 | `gdpr.chapter5.no_basis` |",
		"| customer-pii-eu | acme | backup fra-1 → iad-1 |"} {
		if code != 0 || !strings.Contains(md, w) {
			t.Errorf("markdown (exit %d) lacks %q:\n%s", code, w, md)
		}
	}
	// Refusals, before any policy is compiled.
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"bad inventory", []string{"--drift", "../../testdata/inventory/bad-unknown-field"}, "--drift ../../testdata/inventory/bad-unknown-field"},
		{"no current state", []string{"--drift", "../../testdata/inventory/good-min"}, "states no current: state"},
		{"drift-at alone", []string{"--scenarios", fixture("scenarios"), "--drift-at", "2026-12-03"}, "--drift-at needs --drift"},
		{"bad drift-at", []string{"--drift", demoInventory, "--drift-at", "soon"}, `--drift-at "soon"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, out := runDiff(t, append([]string{"--base", base, "--head", head}, c.args...)...)
			if code != 2 || !strings.Contains(out, c.want) {
				t.Errorf("exit %d (want 2), output lacks %q:\n%s", code, c.want, out)
			}
		})
	}
}
