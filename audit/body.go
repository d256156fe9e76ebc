package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// A log entry holds at most MaxEntrySize bytes (the C2SP tlog-tiles limit),
// and a placement over thousands of candidate sites answers megabytes. Such a
// record keeps its request and result in a body beside the log: the body is
// the canonical JSON {"request":…,"result":…} the record would have held, it
// is stored under its SHA-256 in the log directory's bodies/, and the signed
// record names it by digest and size ("body") instead of holding it. The
// signature over the record thereby covers the body; verification reads and
// checks every body a record names (docs/audit.md, "Bodies").

// BodyDir is the directory of record bodies inside the log directory, so that
// a copy of the log directory is a copy of its bodies too.
const BodyDir = "bodies"

// MaxBodySize bounds a record body: what a reader of the log (a verifier, an
// evidence pack) may have to hold at once for one record.
const MaxBodySize = 256 << 20

// RecordVersionBody is the version of a record that keeps its request and
// result in a body. Records without "version" are version 1: request and
// result inline.
const RecordVersionBody = 2

// ErrRecordTooLarge is a record too large for one log entry that cannot be
// kept with a body: the body would exceed MaxBodySize. Nothing is appended;
// the API answers 422.
var ErrRecordTooLarge = errors.New("record too large for one log entry")

// BodyRef names a record's body by digest and size.
type BodyRef struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// BodySource reads record bodies by hex SHA-256. A body that is not there is
// an error wrapping fs.ErrNotExist.
type BodySource interface {
	ReadBody(ctx context.Context, sha256Hex string) ([]byte, error)
}

// bodiesOf is src's body reader, or nil when src serves no bodies.
func bodiesOf(src Source) BodySource {
	if b, ok := src.(BodySource); ok {
		return b
	}
	return nil
}

// withBodies is a log source that also reads the log's bodies.
type withBodies struct {
	Source
	bodies BodySource
}

func (s withBodies) ReadBody(ctx context.Context, sum string) ([]byte, error) {
	return s.bodies.ReadBody(ctx, sum)
}

// validBodyName reports whether s is a lower-case hex SHA-256, the only name
// a body has (so that no path can be made of one).
func validBodyName(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// bodyPath is where a body lies under a log directory: bodies/ab/abcd…, a
// fan-out of 256 directories.
func bodyPath(logDir, sum string) string {
	return filepath.Join(logDir, BodyDir, sum[:2], sum)
}

// dirBodies reads bodies from a log directory.
type dirBodies struct{ logDir string }

func (d dirBodies) ReadBody(_ context.Context, sum string) ([]byte, error) {
	if !validBodyName(sum) {
		return nil, fmt.Errorf("body %q: not a hex SHA-256: %w", sum, fs.ErrNotExist)
	}
	f, err := os.Open(bodyPath(d.logDir, sum))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBodyFrom(f, sum)
}

// httpBodies reads bodies from a log served over HTTP: <base>/bodies/<hex>.
type httpBodies struct {
	base *url.URL
	hc   *http.Client
}

func (h httpBodies) ReadBody(ctx context.Context, sum string) ([]byte, error) {
	if !validBodyName(sum) {
		return nil, fmt.Errorf("body %q: not a hex SHA-256: %w", sum, fs.ErrNotExist)
	}
	u := h.base.JoinPath(BodyDir, sum)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, fmt.Errorf("body %s: %s: %w", sum, u, fs.ErrNotExist)
	default:
		return nil, fmt.Errorf("body %s: %s: %s", sum, u, resp.Status)
	}
	return readBodyFrom(resp.Body, sum)
}

func readBodyFrom(r io.Reader, sum string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("body %s: %w", sum, err)
	}
	if len(b) > MaxBodySize {
		return nil, fmt.Errorf("body %s: over %d bytes", sum, MaxBodySize)
	}
	return b, nil
}

// bodyWriter stores record bodies durably: put returns once body is on
// stable storage under sum, before the record naming it is appended.
// bodyStore (POSIX, a log directory's bodies/) and mysqlBodies (the mysql
// backend's table) are the two.
type bodyWriter interface {
	put(ctx context.Context, sum string, body []byte) error
}

// bodyStore writes bodies durably into a log directory.
type bodyStore struct{ logDir string }

// put stores body under sum and returns once it is on stable storage: the
// file and the directories naming it are synced before the record naming it
// is appended, so that no entry can name a body a crash lost. A crash before
// the append leaves a body no record names (or a .tmp- file), which
// verification ignores.
func (s bodyStore) put(_ context.Context, sum string, body []byte) error {
	p := bodyPath(s.logDir, sum)
	// Written even when a file of that name exists: a damaged copy left by
	// a crash is replaced, not trusted. (A decision's body holds its own
	// decision id, so two records never share one in practice.)
	root := filepath.Join(s.logDir, BodyDir)
	fan := filepath.Dir(p)
	for _, d := range []string{root, fan} {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			if err := syncDir(filepath.Dir(d)); err != nil {
				return err
			}
		}
	}
	f, err := os.CreateTemp(fan, ".tmp-"+sum[:16]+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(body); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(fan)
}

// encodeBody is the canonical body of a canonical request and result.
func encodeBody(req, res []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(req) + len(res) + 24)
	b.WriteByte('{')
	if len(req) > 0 {
		b.WriteString(`"request":`)
		b.Write(req)
	}
	if len(res) > 0 {
		if len(req) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"result":`)
		b.Write(res)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// CheckBody checks that body is the one ref names (size and SHA-256) and
// has the body's shape: a JSON object holding at most "request" and
// "result", each once.
func CheckBody(ref *BodyRef, body []byte) error {
	if int64(len(body)) != ref.Size {
		return fmt.Errorf("body %s has %d bytes, the record says %d", ref.SHA256, len(body), ref.Size)
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != ref.SHA256 {
		return fmt.Errorf("body %s has SHA-256 %x: altered", ref.SHA256, sum)
	}
	_, _, err := decodeBody(body)
	return err
}

// decodeBody splits a body into its request and result: an object of at
// most those two members, each once. (The digest binds the bytes; the body
// is not re-canonicalised, which would hold another copy of a body of up to
// MaxBodySize.)
func decodeBody(body []byte) (req, res json.RawMessage, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, errors.New("body is not a JSON object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("body: %w", err)
		}
		var into *json.RawMessage
		switch t {
		case "request":
			into = &req
		case "result":
			into = &res
		default:
			return nil, nil, fmt.Errorf("body: unknown member %v", t)
		}
		if *into != nil {
			return nil, nil, fmt.Errorf("body: %v twice", t)
		}
		if err := dec.Decode(into); err != nil {
			return nil, nil, fmt.Errorf("body: %v: %w", t, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("body: %w", err)
	}
	if dec.More() || dec.InputOffset() != int64(len(body)) {
		return nil, nil, errors.New("body: data after the object")
	}
	return req, res, nil
}

// ResolveRecord is a record's JSON with its body's request and result put
// back, for readers of what was decided (reports, replays). A record without
// a body is returned as it is. body must have passed CheckBody; the result
// is JSON but no longer canonical (it is not what was signed).
func ResolveRecord(rec, body []byte) ([]byte, error) {
	if body == nil {
		return rec, nil
	}
	req, res, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(rec)+len(body)+24)
	out = append(out, rec[:len(rec)-1]...)
	if len(req) > 0 {
		out = append(out, `,"request":`...)
		out = append(out, req...)
	}
	if len(res) > 0 {
		out = append(out, `,"result":`...)
		out = append(out, res...)
	}
	return append(out, '}'), nil
}

// RecordBody reads the body a record names, if any: it returns the record's
// body reference (nil for a record without a body) and reports a record
// that names a body and also holds a request or result itself, which no
// writer makes.
func RecordBody(rec []byte) (*BodyRef, error) {
	h, err := scanRecordHead(rec)
	if err != nil {
		return nil, err
	}
	return h.bodyRef()
}

// loadBody reads and checks the body ref names from bodies.
func loadBody(ctx context.Context, bodies BodySource, ref *BodyRef) ([]byte, error) {
	if bodies == nil {
		return nil, fmt.Errorf("body %s: this log source serves no record bodies", ref.SHA256)
	}
	b, err := bodies.ReadBody(ctx, ref.SHA256)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("body %s is missing: %w", ref.SHA256, err)
		}
		return nil, err
	}
	if err := CheckBody(ref, b); err != nil {
		return nil, err
	}
	return b, nil
}

// parseBodyPath recognises bodies/<hex> in a tile server's path.
func parseBodyPath(p string) (string, bool) {
	sum, ok := strings.CutPrefix(p, BodyDir+"/")
	return sum, ok && validBodyName(sum)
}
