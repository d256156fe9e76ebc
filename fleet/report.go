// Package fleet is what a control plane knows of its sites: the status each
// site reports (Report, shaped after OPA's status API), and the registry that
// keeps the latest report of every site, judges it (stale, lagging behind the
// published bundle, refusing) and says which judgements changed, so the API
// can record each change in the audit log. The registry is kept in one file
// of the control plane's data directory, written atomically.
package fleet

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// MaxReportBytes bounds a status report's body (413 past it).
const MaxReportBytes = 64 << 10

// Report is one status report of a site (POST /v1/status). Its shape follows
// OPA's status plugin where the two meet: labels.id and labels.version, and
// bundles by name with active_revision, last_successful_activation,
// last_request, code and message; Sovereign adds the inventory, the latest
// checkpoint of the site's audit log and the log's health.
type Report struct {
	Labels  Labels                  `json:"labels"`
	Bundles map[string]BundleStatus `json:"bundles"`
	// Inventory is the inventory in force at the site.
	Inventory InventoryStatus `json:"inventory"`
	// LastRefusal is the site's latest refusal of a bundle or an inventory
	// (nil for none since it started).
	LastRefusal *Refusal `json:"last_refusal,omitempty"`
	// Checkpoint is the latest checkpoint the site's audit log published
	// (nil before the first).
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	// Metrics are counted since the last report the control plane took
	// (summed over reports that did not get through).
	Metrics Metrics   `json:"metrics"`
	Log     LogHealth `json:"log"`
	// SentAt is the site's clock when the report was made: for reading
	// only, the control plane judges by its own clock.
	SentAt time.Time `json:"sent_at"`
}

// Labels identify the site, as OPA's labels do an agent.
type Labels struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// BundleStatus is one bundle of a site, as OPA's status reports it. Code and
// Message are set while the site refuses the version its source serves.
type BundleStatus struct {
	Name                     string    `json:"name"`
	ActiveRevision           string    `json:"active_revision"`
	ActiveDigest             string    `json:"active_digest"`
	ActiveETag               string    `json:"active_etag,omitempty"`
	LastSuccessfulActivation time.Time `json:"last_successful_activation,omitzero"`
	LastRequest              time.Time `json:"last_request,omitzero"`
	Code                     string    `json:"code,omitempty"`
	Message                  string    `json:"message,omitempty"`
}

// InventoryStatus is the inventory of a site; Code and Message are set while
// the inventory on disk is refused (the last good one stays in force).
type InventoryStatus struct {
	Revision                 string    `json:"revision"`
	LastSuccessfulActivation time.Time `json:"last_successful_activation,omitzero"`
	Code                     string    `json:"code,omitempty"`
	Message                  string    `json:"message,omitempty"`
}

// Refusal is a site's refusal of a bundle or an inventory.
type Refusal struct {
	Kind   string    `json:"kind"` // "bundle" or "inventory"
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Checkpoint is a signed checkpoint of a site's log: its origin line, tree
// size and root hash (base64, as in the checkpoint note).
type Checkpoint struct {
	Origin   string `json:"origin"`
	Size     uint64 `json:"size"`
	RootHash string `json:"root_hash"`
}

// Metrics are a site's counters since its last report taken.
type Metrics struct {
	Decisions uint64 `json:"decisions"`
	Denials   uint64 `json:"denials"`
}

// LogHealth is whether the site's audit log takes records.
type LogHealth struct {
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
}

// Codes of a bundle or inventory the site refuses (OPA names its bundle
// errors "bundle_error").
const (
	CodeBundleError    = "bundle_error"
	CodeInventoryError = "inventory_error"
)

// FieldError is one field of a report and what is wrong with it.
type FieldError struct {
	Path    string
	Message string
}

// Limits on a report's values: a report is a few hundred bytes, and every
// site's latest one is kept.
const (
	maxBundles = 16
	maxText    = 256  // ids, names, revisions, digests, versions, origins
	maxMessage = 2048 // refusal reasons and log errors
)

var (
	// SiteIDPattern bounds a site id: it names the site in the fleet view,
	// in audit records and in a Cedar entity.
	SiteIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	bundleNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
)

// Check reports every problem of a decoded report, each at its field path.
func (r *Report) Check() []FieldError {
	var errs []FieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, FieldError{path, fmt.Sprintf(format, args...)})
	}
	text := func(path, v string, limit int, required bool) {
		switch {
		case v == "" && required:
			bad(path, "is required")
		case len(v) > limit:
			bad(path, "is longer than %d bytes", limit)
		}
	}
	switch {
	case r.Labels.ID == "":
		bad("labels.id", "is required")
	case !SiteIDPattern.MatchString(r.Labels.ID):
		bad("labels.id", "%q is not a site id (letters, digits and ._:- ; up to 128)", r.Labels.ID)
	}
	text("labels.version", r.Labels.Version, maxText, true)
	if len(r.Bundles) > maxBundles {
		bad("bundles", "at most %d bundles", maxBundles)
	}
	for name, b := range r.Bundles {
		p := "bundles." + name
		if !bundleNameRE.MatchString(name) {
			bad("bundles", "%q is not a bundle name", truncate(name, 64))
			continue
		}
		if b.Name != name {
			bad(p+".name", "must be the bundle's key %q", name)
		}
		text(p+".active_revision", b.ActiveRevision, maxText, false)
		text(p+".active_digest", b.ActiveDigest, maxText, false)
		text(p+".active_etag", b.ActiveETag, maxText, false)
		if b.Code != "" && b.Code != CodeBundleError {
			bad(p+".code", "must be %q or absent", CodeBundleError)
		}
		text(p+".message", b.Message, maxMessage, b.Code != "")
	}
	text("inventory.revision", r.Inventory.Revision, maxText, false)
	if c := r.Inventory.Code; c != "" && c != CodeInventoryError {
		bad("inventory.code", "must be %q or absent", CodeInventoryError)
	}
	text("inventory.message", r.Inventory.Message, maxMessage, r.Inventory.Code != "")
	if f := r.LastRefusal; f != nil {
		if f.Kind != "bundle" && f.Kind != "inventory" {
			bad("last_refusal.kind", `must be "bundle" or "inventory"`)
		}
		if f.At.IsZero() {
			bad("last_refusal.at", "is required")
		}
		text("last_refusal.reason", f.Reason, maxMessage, true)
	}
	if c := r.Checkpoint; c != nil {
		text("checkpoint.origin", c.Origin, maxText, true)
		if h, err := base64.StdEncoding.DecodeString(c.RootHash); err != nil || len(h) != 32 {
			bad("checkpoint.root_hash", "must be the base64 of a 32-byte hash")
		}
	}
	text("log.error", r.Log.Error, maxMessage, false)
	if r.SentAt.IsZero() {
		bad("sent_at", "is required")
	}
	return errs
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ParseCheckpoint reads the origin, size and root hash of a checkpoint note
// (C2SP tlog-checkpoint); its signatures are not checked.
func ParseCheckpoint(note []byte) (Checkpoint, error) {
	lines := bytes.SplitN(note, []byte("\n"), 4)
	if len(lines) < 4 {
		return Checkpoint{}, errors.New("checkpoint: fewer than three lines")
	}
	size, err := strconv.ParseUint(string(lines[1]), 10, 64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: size: %w", err)
	}
	if h, err := base64.StdEncoding.DecodeString(string(lines[2])); err != nil || len(h) != 32 {
		return Checkpoint{}, errors.New("checkpoint: root hash is not the base64 of 32 bytes")
	}
	return Checkpoint{Origin: string(lines[0]), Size: size, RootHash: string(lines[2])}, nil
}
