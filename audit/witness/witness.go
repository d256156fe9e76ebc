// Package witness is the control plane's C2SP tlog-witness: sites submit each
// new checkpoint of their audit log with a consistency proof from the last one
// the witness cosigned, and the witness cosigns only a checkpoint that extends
// that one. A site that forks its log (shows one auditor a history, another a
// different one) cannot get both cosigned, and `audit verify --witness-key`
// refuses a checkpoint without the cosignature.
//
// The protocol is https://c2sp.org/tlog-witness (add-checkpoint); the
// cosignatures are C2SP cosignature/v1 (formats/note), the proofs RFC 6962
// (merkle/proof). What the witness last cosigned for each origin is kept in
// its data directory, written atomically before the cosignature is returned.
package witness

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	f_log "github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/sovereign-engine/sovereign/audit"
)

// Files in the witness's data directory.
const (
	// KeyFile is the witness's note signer key, mode 0600.
	KeyFile = "witness.key"
	// VerifierKeyFile is its cosignature/v1 verifier key: what sites put in
	// their witness policy and auditors pass to `audit verify --witness-key`.
	VerifierKeyFile = "witness.vkey"
	// StateDir holds, per log origin, the last checkpoint cosigned.
	StateDir = "witness"
)

// Errors of AddCheckpoint, each with the HTTP status tlog-witness gives it.
var (
	// ErrUnknownLog: the origin is not a log this witness follows (404).
	ErrUnknownLog = errors.New("unknown log")
	// ErrBadSignature: the checkpoint is not signed by the log's key (403).
	ErrBadSignature = errors.New("checkpoint signature does not verify")
	// ErrBadRequest: the body is malformed, or old size > checkpoint size (400).
	ErrBadRequest = errors.New("bad add-checkpoint request")
	// ErrInconsistent: the consistency proof does not prove the checkpoint
	// extends the one cosigned last: a fork (422).
	ErrInconsistent = errors.New("checkpoint is not consistent with the last one cosigned")
)

// ConflictError says the request's old size is not the size of the last
// checkpoint cosigned (409, body: that size), or that the sizes match but the
// root hashes do not (a fork, 409 with the size too).
type ConflictError struct {
	Size uint64
	Fork bool
}

func (e *ConflictError) Error() string {
	if e.Fork {
		return fmt.Sprintf("checkpoint of size %d has a root other than the one cosigned at that size: a fork", e.Size)
	}
	return fmt.Sprintf("old size does not match: last cosigned size is %d", e.Size)
}

// maxBody caps an add-checkpoint request: a checkpoint and at most 63 proof lines.
const maxBody = 64 << 10

// Witness cosigns checkpoints of the logs it follows.
type Witness struct {
	signer *f_note.Signer
	vkey   string
	logs   map[string]note.Verifier // by origin
	dir    string

	mu sync.Mutex // one add-checkpoint at a time: check-then-store must not interleave
}

// Open loads the witness key from dataDir (creating it, named name, on first
// start; "" means "sovereign-witness/<hostname>") and follows the logs whose
// checkpoint verifier keys (log.vkey of each site) are given.
func Open(dataDir, name string, logKeys []string) (*Witness, error) {
	if len(logKeys) == 0 {
		return nil, errors.New("witness: no log keys: a witness follows at least one log")
	}
	logs := make(map[string]note.Verifier, len(logKeys))
	for _, k := range logKeys {
		v, err := audit.NoteVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("witness: %w", err)
		}
		if _, dup := logs[v.Name()]; dup {
			return nil, fmt.Errorf("witness: two log keys for origin %q", v.Name())
		}
		logs[v.Name()] = v
	}
	if err := os.MkdirAll(filepath.Join(dataDir, StateDir), 0o700); err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	skey, err := loadOrCreateKey(dataDir, name)
	if err != nil {
		return nil, err
	}
	signer, err := f_note.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, fmt.Errorf("witness: %s: %w", KeyFile, err)
	}
	_, vkey, err := vkeyOf(skey)
	if err != nil {
		return nil, err
	}
	cosigV, err := f_note.VKeyToCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness: %w", err)
	}
	vkPath := filepath.Join(dataDir, VerifierKeyFile)
	if cur, err := os.ReadFile(vkPath); err != nil || strings.TrimSpace(string(cur)) != cosigV {
		if err := audit.WriteFileAtomic(vkPath, []byte(cosigV+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("witness: %w", err)
		}
	}
	return &Witness{signer: signer, vkey: cosigV, logs: logs, dir: filepath.Join(dataDir, StateDir)}, nil
}

// LoadLogKeys reads the log verifier keys of a directory: every *.vkey file,
// one key each (the log.vkey of each site, renamed <site>.vkey).
func LoadLogKeys(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.vkey"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("witness: no *.vkey file in %s", dir)
	}
	keys := make([]string, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("witness: %w", err)
		}
		keys = append(keys, strings.TrimSpace(string(b)))
	}
	return keys, nil
}

func loadOrCreateKey(dataDir, name string) (string, error) {
	path := filepath.Join(dataDir, KeyFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		skey := strings.TrimSpace(string(raw))
		if n, _, err := vkeyOf(skey); err != nil {
			return "", err
		} else if name != "" && n != name {
			return "", fmt.Errorf("witness: %s is for %q, not the configured %q", path, n, name)
		}
		return skey, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("witness: %w", err)
	}
	if name == "" {
		host, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("witness: name: %w", err)
		}
		name = "sovereign-witness/" + host
	}
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("witness: key %q: %w", name, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("witness: create %s: %w", path, err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("witness: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("witness: sync %s: %w", path, err)
	}
	return skey, f.Close()
}

// vkeyOf derives the Ed25519 note verifier key of a note signer key.
func vkeyOf(skey string) (name, vkey string, err error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return "", "", fmt.Errorf("witness: %s: %w", KeyFile, err)
	}
	parts := strings.SplitN(skey, "+", 5)
	key, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(key) != 33 {
		return "", "", fmt.Errorf("witness: %s: not an Ed25519 key", KeyFile)
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err = note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return "", "", fmt.Errorf("witness: %w", err)
	}
	return s.Name(), vkey, nil
}

// VerifierKey is the witness's cosignature/v1 verifier key.
func (w *Witness) VerifierKey() string { return w.vkey }

// Name is the witness's name, the name on its cosignatures.
func (w *Witness) Name() string { return w.signer.Name() }

// AddCheckpoint is tlog-witness add-checkpoint: checkpoint must be signed by
// a log this witness follows, oldSize must be the size of the last checkpoint
// cosigned for its origin (0 for none), and consistency must prove the old
// tree a prefix of the new one. It returns the cosignature lines to append to
// the checkpoint, after storing the checkpoint as the origin's latest.
func (w *Witness) AddCheckpoint(oldSize uint64, consistency [][]byte, checkpoint []byte) ([]byte, error) {
	origin, _, _ := strings.Cut(string(checkpoint), "\n")
	v, ok := w.logs[origin]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLog, origin)
	}
	cp, _, n, err := f_log.ParseCheckpoint(checkpoint, origin, v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if oldSize > cp.Size {
		return nil, fmt.Errorf("%w: old size %d > checkpoint size %d", ErrBadRequest, oldSize, cp.Size)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	last, err := w.latest(origin, v)
	if err != nil {
		return nil, err
	}
	var lastSize uint64
	var lastRoot []byte
	if last != nil {
		lastSize, lastRoot = last.Size, last.Hash
	}
	if oldSize != lastSize {
		return nil, &ConflictError{Size: lastSize}
	}
	switch {
	case oldSize == cp.Size:
		if len(consistency) != 0 {
			return nil, fmt.Errorf("%w: a proof between equal sizes must be empty", ErrBadRequest)
		}
		if last != nil && !bytes.Equal(lastRoot, cp.Hash) {
			return nil, &ConflictError{Size: lastSize, Fork: true}
		}
	case oldSize == 0:
		if len(consistency) != 0 {
			return nil, fmt.Errorf("%w: a proof from size 0 must be empty", ErrBadRequest)
		}
	default:
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldSize, cp.Size, consistency, lastRoot, cp.Hash); err != nil {
			return nil, fmt.Errorf("%w: %d→%d: %w", ErrInconsistent, oldSize, cp.Size, err)
		}
	}
	// Durable before it is cosigned: after a crash the witness must not
	// cosign a fork of what it already vouched for.
	if last == nil || cp.Size > lastSize {
		if err := audit.WriteFileAtomic(w.statePath(origin), checkpoint, 0o600); err != nil {
			return nil, fmt.Errorf("witness: store checkpoint: %w", err)
		}
	}
	signed, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, fmt.Errorf("witness: cosign: %w", err)
	}
	_, sigs, _ := bytes.Cut(signed, []byte("\n\n"))
	return sigs, nil
}

// Latest is the last checkpoint cosigned for origin, nil for none.
func (w *Witness) Latest(origin string) ([]byte, error) {
	v, ok := w.logs[origin]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownLog, origin)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.latest(origin, v); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(w.statePath(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

func (w *Witness) latest(origin string, v note.Verifier) (*f_log.Checkpoint, error) {
	raw, err := os.ReadFile(w.statePath(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("witness: state of %q: %w", origin, err)
	}
	// The stored checkpoint is checked like a submitted one: a damaged state
	// file stops the witness for that log instead of resetting it.
	cp, _, _, err := f_log.ParseCheckpoint(raw, origin, v)
	if err != nil {
		return nil, fmt.Errorf("witness: state of %q does not verify: %w", origin, err)
	}
	return cp, nil
}

func (w *Witness) statePath(origin string) string {
	sum := sha256.Sum256([]byte(origin))
	return filepath.Join(w.dir, hex.EncodeToString(sum[:]))
}

// Handler serves POST add-checkpoint (mount it at the witness URL sites have
// in their policy; Tessera appends "/add-checkpoint"). Anyone may submit: a
// checkpoint counts only if the log's own key signed it.
func (w *Witness) Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", "POST")
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxBody))
		if err != nil {
			http.Error(rw, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		oldSize, consistency, checkpoint, err := ParseAddCheckpoint(body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		sigs, err := w.AddCheckpoint(oldSize, consistency, checkpoint)
		var conflict *ConflictError
		switch {
		case err == nil:
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = rw.Write(sigs)
		case errors.As(err, &conflict):
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			fmt.Fprintf(rw, "%d\n", conflict.Size)
		case errors.Is(err, ErrUnknownLog):
			http.Error(rw, err.Error(), http.StatusNotFound)
		case errors.Is(err, ErrBadSignature):
			http.Error(rw, err.Error(), http.StatusForbidden)
		case errors.Is(err, ErrBadRequest):
			http.Error(rw, err.Error(), http.StatusBadRequest)
		case errors.Is(err, ErrInconsistent):
			http.Error(rw, err.Error(), http.StatusUnprocessableEntity)
		default:
			http.Error(rw, "witness unavailable", http.StatusServiceUnavailable)
		}
	})
}

// ParseAddCheckpoint splits an add-checkpoint request body: "old <size>",
// zero to 63 base64 proof hashes, an empty line, then the checkpoint.
func ParseAddCheckpoint(body []byte) (oldSize uint64, consistency [][]byte, checkpoint []byte, err error) {
	head, checkpoint, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: no empty line before the checkpoint", ErrBadRequest)
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	if !sc.Scan() {
		return 0, nil, nil, fmt.Errorf("%w: no old size line", ErrBadRequest)
	}
	num, ok := strings.CutPrefix(sc.Text(), "old ")
	if !ok {
		return 0, nil, nil, fmt.Errorf("%w: first line is not \"old <size>\"", ErrBadRequest)
	}
	if oldSize, err = strconv.ParseUint(num, 10, 64); err != nil || (len(num) > 1 && num[0] == '0') {
		return 0, nil, nil, fmt.Errorf("%w: old size %q is not a decimal number", ErrBadRequest, num)
	}
	for sc.Scan() {
		h, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil || len(h) != sha256.Size {
			return 0, nil, nil, fmt.Errorf("%w: proof line %d is not a base64 SHA-256 hash", ErrBadRequest, len(consistency)+1)
		}
		if len(consistency) == 63 {
			return 0, nil, nil, fmt.Errorf("%w: more than 63 proof lines", ErrBadRequest)
		}
		consistency = append(consistency, h)
	}
	return oldSize, consistency, checkpoint, nil
}
