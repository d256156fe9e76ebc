package audit

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
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// chromium runs headless chromium on a file with extra flags and returns its
// stdout and stderr. Without chromium the test is skipped, except in CI.
func chromium(t *testing.T, page string, flags ...string) (string, string) {
	t.Helper()
	bin := chromiumPath
	if p := os.Getenv("SOVEREIGN_CHROMIUM"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is required in CI (.ci/run installs it): %v", err)
		}
		t.Skipf("no chromium at %s", bin)
	}
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
	o.Query = ReportQuery{From: reportDay0, To: reportDay0.Add(4 * 24 * time.Hour)}
	page, _ := f.write(t, o, ReportHTML)
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
