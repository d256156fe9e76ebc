package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/internal/testenv"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// chromium runs headless chromium on a file with extra flags and returns its
// stdout and stderr. Without chromium the test is skipped, or fails under
// SOVEREIGN_REQUIRE_ALL=1.
func chromium(t *testing.T, page string, flags ...string) (string, string) {
	t.Helper()
	bin := chromiumPath
	if p := os.Getenv("SOVEREIGN_CHROMIUM"); p != "" {
		bin = p
	}
	_, err := os.Stat(bin)
	testenv.Need(t, err == nil, "chromium at "+bin+" (make deps installs it)")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, flags...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// TestReportHTMLInBrowser opens the HTML report in headless chromium: the
// page must log nothing to the console (a blocked external asset, a CSP
// violation or a script error would) and its three charts must be in the
// rendered DOM with bars. SOVEREIGN_REPORT_SCREENSHOT=FILE also saves a
// screenshot (docs/report-screenshot.png is made so).
func TestReportHTMLInBrowser(t *testing.T) {
	f := newReportFixture(t)
	o := f.opts
	o.Query = Query{From: reportDay0, To: reportDay0.Add(4 * 24 * time.Hour)}
	page, sum := f.write(t, o, FormatHTML)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	dom, logs := chromium(t, path, "--dump-dom")
	console := regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)
	if msgs := console.FindAllString(logs, -1); len(msgs) > 0 {
		t.Errorf("console messages:\n%s", strings.Join(msgs, "\n"))
	}
	if !strings.Contains(dom, "<h1>Audit report</h1>") {
		t.Fatalf("the rendered DOM is not the report:\n%.500s", dom)
	}
	for _, id := range []string{"chart-decisions-over-time", "chart-outcomes-by-site", "chart-top-rules"} {
		re := regexp.MustCompile(`(?s)<svg id="` + id + `"[^>]*>(.*?)</svg>`)
		m := re.FindStringSubmatch(dom)
		if m == nil {
			t.Errorf("chart %s is missing from the rendered page", id)
			continue
		}
		if n := strings.Count(m[1], "<rect"); n < 2 {
			t.Errorf("chart %s has %d bars", id, n)
		}
	}
	// The lists as the browser renders them: what-ifs apart from denials.
	for _, tc := range []struct {
		id   string
		rows uint64
	}{
		{"denials", sum.Totals.Denials},
		{"overrides", sum.Totals.Overrides + sum.Totals.Exempted},
		{"hypothetical", sum.Totals.Hypothetical},
	} {
		m := regexp.MustCompile(`(?s)<h2 id="` + tc.id + `">.*?</table>`).FindString(dom)
		if n := strings.Count(m, `<tr id="r-`); uint64(n) != tc.rows || n == 0 {
			t.Errorf("section %s shows %d records, want %d", tc.id, n, tc.rows)
		}
	}
	labels := regexp.MustCompile(`(?s)<svg id="chart-decisions-over-time".*?</svg>`).FindString(dom)
	if l := regexp.MustCompile(`<text[^>]*>(\d{4}-[^<]*)</text>`).FindAllStringSubmatch(labels, -1); len(l) != 2 || l[0][1] == l[1][1] {
		t.Errorf("time chart labels %v: want a start and a different end", l)
	}
	if shot := os.Getenv("SOVEREIGN_REPORT_SCREENSHOT"); shot != "" {
		abs, err := filepath.Abs(shot)
		if err != nil {
			t.Fatal(err)
		}
		chromium(t, path, "--screenshot="+abs, "--window-size=1100,1500", "--hide-scrollbars")
		if st, err := os.Stat(abs); err != nil || st.Size() < 10_000 {
			t.Errorf("screenshot %s: %v", abs, err)
		}
	}
}
