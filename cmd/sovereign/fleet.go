package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sovereign-engine/sovereign/api"
	"github.com/sovereign-engine/sovereign/fleet"
)

func newFleetCmd() *cobra.Command {
	var server, tokenFile, format string
	var stale, lagging, refusing bool
	cmd := &cobra.Command{
		Use:   "fleet --server URL [--token-file FILE] [--stale] [--lagging] [--refusing] [--format table|json]",
		Short: "List the sites reporting to a control plane: what each runs, and which are stale, lagging or refusing",
		Long: `Fleet reads GET /v1/fleet of a control plane (serve --serve-bundles), every page
of it, and lists each site: when it last reported, the bundle revision it runs
against the one published, whether it is stale (not heard from), lagging (still
on another bundle well after one was published) or refusing (a bundle or
inventory), its latest checkpoint's age and whether the control plane's
witness saw the same checkpoint ("unknown" when it cannot tell).

The token (--token-file, or SOVEREIGN_TOKEN_FILE) needs the fleet.read action:
the auditor or admin role. It is sent over https, or to a loopback address, only.

Exit codes: 0 every site is well, 1 some site is stale, lagging or refusing,
2 error (the control plane could not be read).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			if server == "" {
				return &exitError{code: 2, err: errors.New("fleet: --server is required")}
			}
			if format != "table" && format != "json" {
				return &exitError{code: 2, err: fmt.Errorf("fleet: --format %q: want table or json", format)}
			}
			u, err := url.Parse(strings.TrimSuffix(server, "/") + "/v1/fleet")
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return &exitError{code: 2, err: fmt.Errorf("fleet: --server %q: not an http(s) URL", server)}
			}
			client := &http.Client{Timeout: 30 * time.Second}
			if tokenFile != "" {
				if client, err = tokenClient("--token-file", u.String(), tokenFile, 30*time.Second); err != nil {
					return &exitError{code: 2, err: fmt.Errorf("fleet: %w", err)}
				}
			}
			q := url.Values{}
			for name, on := range map[string]bool{"stale": stale, "lagging": lagging, "refusing": refusing} {
				if on {
					q.Set(name, "true")
				}
			}
			all, err := readFleet(client, u, q)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("fleet: %w", err)}
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				err = enc.Encode(all)
			} else {
				err = writeFleetTable(cmd.OutOrStdout(), all)
			}
			if err != nil {
				return err
			}
			if all.Summary.Stale+all.Summary.Lagging+all.Summary.Refusing > 0 {
				return errQuietFail
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "", "the control plane's base URL, e.g. https://cp.example.com:8181")
	f.StringVar(&tokenFile, "token-file", "", "file holding a bearer token with fleet.read (auditor or admin)")
	f.BoolVar(&stale, "stale", false, "only stale sites")
	f.BoolVar(&lagging, "lagging", false, "only lagging sites")
	f.BoolVar(&refusing, "refusing", false, "only refusing sites")
	f.StringVar(&format, "format", "table", "table or json")
	return cmd
}

// readFleet reads every page of the fleet view.
func readFleet(client *http.Client, u *url.URL, q url.Values) (fleet.Page, error) {
	var all fleet.Page
	all.Sites = []fleet.SiteView{}
	q.Set("limit", strconv.Itoa(fleet.MaxLimit))
	for pages := 0; ; pages++ {
		if pages > 1000 {
			return all, errors.New("more than 1,000 pages: the cursor does not advance")
		}
		pu := *u
		pu.RawQuery = q.Encode()
		resp, err := client.Get(pu.String())
		if err != nil {
			return all, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return all, err
		}
		if resp.StatusCode != http.StatusOK {
			var e api.ErrorBody
			if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
				return all, fmt.Errorf("%s: HTTP %d %s: %s", pu.Redacted(), resp.StatusCode, e.Error.Code, e.Error.Message)
			}
			return all, fmt.Errorf("%s: HTTP %d", pu.Redacted(), resp.StatusCode)
		}
		var p fleet.Page
		if err := json.Unmarshal(body, &p); err != nil {
			return all, fmt.Errorf("%s: %w", pu.Redacted(), err)
		}
		all.Summary = p.Summary
		all.Sites = append(all.Sites, p.Sites...)
		if p.NextCursor == "" {
			return all, nil
		}
		q.Set("cursor", p.NextCursor)
	}
}

// writeFleetTable prints one line per site and the summary.
func writeFleetTable(w io.Writer, p fleet.Page) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SITE\tLAST SEEN\tBUNDLE\tPUBLISHED\tSTATE\tCHECKPOINT\tWITNESS\tREFUSAL")
	for _, s := range p.Sites {
		var bundle, published []string
		for _, b := range s.Bundles {
			bundle = append(bundle, dash(b.ActiveRevision))
			published = append(published, dash(b.PublishedRevision))
		}
		var state []string
		for _, st := range []struct {
			on   bool
			name string
		}{{s.Stale, "stale"}, {s.Lagging, "lagging"}, {s.Behind && !s.Lagging, "behind"}, {s.Refusing, "refusing"}, {!s.Log.Healthy, "log-unhealthy"}} {
			if st.on {
				state = append(state, st.name)
			}
		}
		if len(state) == 0 {
			state = []string{"ok"}
		}
		cp, wit := "-", "-"
		if c := s.Checkpoint; c != nil {
			cp = fmt.Sprintf("%d (%s old)", c.Size, (time.Duration(c.AgeSeconds) * time.Second).String())
			wit = c.Witness
		}
		refusal := "-"
		if r := s.LastRefusal; r != nil {
			refusal = r.Kind + ": " + truncateLine(r.Reason, 60)
		}
		fmt.Fprintf(tw, "%s\t%s ago\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, (time.Duration(s.SeenAgoSeconds) * time.Second).String(),
			strings.Join(bundle, ","), strings.Join(published, ","), strings.Join(state, ","), cp, wit, refusal)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d sites: %d stale, %d lagging, %d refusing\n", p.Summary.Sites, p.Summary.Stale, p.Summary.Lagging, p.Summary.Refusing)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncateLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
