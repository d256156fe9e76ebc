package witness_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-engine/sovereign/audit"
	"github.com/sovereign-engine/sovereign/audit/mysqltest"
	"github.com/sovereign-engine/sovereign/audit/witness"
)

const origin = "sovereign/fra-1"

func record(i int, tag string) *audit.Record {
	return &audit.Record{
		Kind:              audit.KindPlacement,
		Principal:         `Tenant::"acme"`,
		Request:           json.RawMessage(fmt.Sprintf(`{"dataset": "customer-pii-eu", "operation": "store", "seq": %d, "tag": %q}`, i, tag)),
		Result:            json.RawMessage(`{"allowed": true}`),
		Bundle:            audit.BundleRef{Revision: "r1", Digest: "sha256:00"},
		InventoryRevision: "sha256:00",
		EngineVersion:     "test",
	}
}

func openLog(t *testing.T, dir string, policy []byte) *audit.Log {
	t.Helper()
	o := audit.Options{DataDir: dir, Origin: origin}
	if policy != nil {
		wg, err := audit.ParseWitnessPolicy(policy)
		if err != nil {
			t.Fatal(err)
		}
		o.Witnesses = wg
	}
	l, err := audit.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = l.Close(ctx)
	})
	return l
}

func appendN(t *testing.T, l *audit.Log, n int, tag string) {
	t.Helper()
	for i := range n {
		if _, err := l.Append(context.Background(), record(i, tag)); err != nil {
			t.Fatal(err)
		}
	}
}

// waitCheckpoint waits for a published checkpoint of exactly size entries.
func waitCheckpoint(t *testing.T, l *audit.Log, size uint64) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := l.Checkpoint(context.Background())
		if err == nil {
			if cp, err := audit.PeekCheckpoint(raw); err == nil && cp.Size == size {
				return raw
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no checkpoint of size %d published", size)
	return nil
}

type witnessServer struct {
	w   *witness.Witness
	url string // the policy URL: Tessera posts to url + "/add-checkpoint"
}

func startWitness(t *testing.T, dataDir string, logVKeys ...string) *witnessServer {
	t.Helper()
	w, err := witness.Open(dataDir, "cp.example/witness", logVKeys)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/witness/add-checkpoint", w.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &witnessServer{w: w, url: srv.URL + "/witness"}
}

func (ws *witnessServer) policy() []byte {
	return []byte(fmt.Sprintf("witness cp %s %s\nquorum cp\n", ws.w.VerifierKey(), ws.url))
}

// post submits an add-checkpoint request as a site would.
func (ws *witnessServer) post(t *testing.T, oldSize uint64, proof [][]byte, cp []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", oldSize)
	for _, h := range proof {
		fmt.Fprintf(&body, "%s\n", base64.StdEncoding.EncodeToString(h))
	}
	body.WriteString("\n")
	body.Write(cp)
	resp, err := http.Post(ws.url+"/add-checkpoint", "text/plain", &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A site's log is witnessed through Tessera's own gateway; a fork of it (same
// keys, another history) is refused by the witness, and audit verify with the
// witness key refuses the fork's checkpoint while the real log passes. The
// witness remembers across a restart.
func TestWitnessRefusesForkedLog(t *testing.T) {
	siteDir, forkDir, cpDir := t.TempDir(), t.TempDir(), t.TempDir()

	// The site creates its keys; the control plane follows its log.vkey.
	site := openLog(t, siteDir, nil)
	vkey := site.VerifierKey()
	ctx := context.Background()
	if err := site.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The fork has the site's keys (a compromised or dishonest site).
	for _, f := range []string{audit.SigningKeyFile, audit.SigningPublicKeysFile, audit.LogKeyFile, audit.LogVerifierKeyFile} {
		b, err := os.ReadFile(filepath.Join(siteDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(forkDir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ws := startWitness(t, cpDir, vkey)

	site = openLog(t, siteDir, ws.policy())
	appendN(t, site, 5, "honest")
	good := waitCheckpoint(t, site, 5)
	wv, err := audit.WitnessVerifier(ws.w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.CheckCosigned(good, wv); err != nil {
		t.Fatalf("the site's published checkpoint is not cosigned: %v\n%s", err, good)
	}
	latest, err := ws.w.Latest(origin)
	if err != nil || latest == nil {
		t.Fatalf("witness state: %v", err)
	}
	if cp, _ := audit.PeekCheckpoint(latest); cp.Size != 5 {
		t.Fatalf("witness stored size %d, want 5", cp.Size)
	}

	// The fork: another history under the same origin and key.
	fork := openLog(t, forkDir, nil)
	appendN(t, fork, 8, "forked")
	forked := waitCheckpoint(t, fork, 8)
	proof, err := fork.ConsistencyProof(ctx, 5, 8)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := ws.post(t, 5, proof, forked); code != http.StatusUnprocessableEntity {
		t.Fatalf("forked checkpoint with its own proof: %d %s, want 422", code, body)
	}
	if code, body := ws.post(t, 0, nil, forked); code != http.StatusConflict || body != "5\n" {
		t.Fatalf("forked checkpoint from size 0: %d %q, want 409 \"5\\n\"", code, body)
	}
	var ve *audit.VerifyError
	if err := audit.CheckCosigned(forked, wv); !errors.As(err, &ve) || ve.What != audit.FailWitness {
		t.Fatalf("CheckCosigned(fork) = %v, want a %s VerifyError", err, audit.FailWitness)
	}

	// Restarted, the witness still holds the site's checkpoint: the fork is
	// refused again and the honest log goes on being cosigned.
	ws2 := startWitness(t, cpDir, vkey)
	if code, body := ws2.post(t, 5, proof, forked); code != http.StatusUnprocessableEntity {
		t.Fatalf("after restart, forked checkpoint: %d %s, want 422", code, body)
	}
	if code, body := ws2.post(t, 5, nil, good); code != http.StatusOK || !strings.HasPrefix(body, "— cp.example/witness ") {
		t.Fatalf("after restart, the same checkpoint again: %d %q, want a cosignature", code, body)
	}
}

// Requests the witness must refuse, with the tlog-witness status of each.
func TestAddCheckpointRefusals(t *testing.T) {
	siteDir := t.TempDir()
	site := openLog(t, siteDir, nil)
	appendN(t, site, 3, "a")
	cp3 := waitCheckpoint(t, site, 3)
	other := openLog(t, t.TempDir(), nil) // same origin name, another key
	appendN(t, other, 3, "a")
	otherCP := waitCheckpoint(t, other, 3)
	ws := startWitness(t, t.TempDir(), site.VerifierKey())

	unknown := append([]byte("sovereign/elsewhere"), cp3[len(origin):]...)
	for _, tc := range []struct {
		name  string
		old   uint64
		proof [][]byte
		cp    []byte
		want  int
	}{
		{"signed by another key", 0, nil, otherCP, http.StatusForbidden},
		{"unknown origin", 0, nil, unknown, http.StatusNotFound},
		{"old size past the checkpoint", 4, nil, cp3, http.StatusBadRequest},
		{"old size the witness never cosigned", 2, [][]byte{make([]byte, 32)}, cp3, http.StatusConflict},
		{"proof from size 0", 0, [][]byte{make([]byte, 32)}, cp3, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := ws.post(t, tc.old, tc.proof, tc.cp); code != tc.want {
				t.Fatalf("%d %s, want %d", code, body, tc.want)
			}
			if latest, _ := ws.w.Latest(origin); latest != nil {
				t.Fatalf("a refused request changed the witness state")
			}
		})
	}
	for _, body := range []string{"", "old 1", "new 0\n\nx", "old -1\n\nx", "old 01\n\nx", "old 1\nnot-base64!\n\nx"} {
		resp, err := http.Post(ws.url+"/add-checkpoint", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("body %q: %d, want 400", body, resp.StatusCode)
		}
	}
	if code, body := ws.post(t, 0, nil, cp3); code != http.StatusOK {
		t.Fatalf("first checkpoint: %d %s", code, body)
	}
}

// Replicas of one site on one MySQL log share the witness: checkpoints are
// published (and so witnessed) by whichever replica gets there first, and
// the witness follows the one log through all of them.
func TestWitnessFollowsReplicasOnMySQL(t *testing.T) {
	dsn := mysqltest.DSN(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	first, err := audit.Open(context.Background(), audit.Options{DataDir: dirA, Origin: origin, Backend: audit.BackendMySQL, DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	vkey := first.VerifierKey()
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{audit.SigningKeyFile, audit.SigningPublicKeysFile, audit.LogKeyFile, audit.LogVerifierKeyFile} {
		b, err := os.ReadFile(filepath.Join(dirA, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dirB, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ws := startWitness(t, t.TempDir(), vkey)
	wg, err := audit.ParseWitnessPolicy(ws.policy())
	if err != nil {
		t.Fatal(err)
	}
	var logs []*audit.Log
	for _, dir := range []string{dirA, dirB} {
		l, err := audit.Open(context.Background(), audit.Options{DataDir: dir, Origin: origin, Backend: audit.BackendMySQL, DSN: dsn, Witnesses: wg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		logs = append(logs, l)
	}
	for round := range 3 {
		for i, l := range logs {
			appendN(t, l, 4, fmt.Sprintf("r%d-l%d", round, i))
		}
		size := uint64(8 * (round + 1))
		var raw []byte
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			r, err := logs[round%2].Checkpoint(context.Background())
			if err != nil {
				continue
			}
			if cp, err := audit.PeekCheckpoint(r); err == nil && cp.Size == size {
				raw = r
				break
			}
		}
		if raw == nil {
			t.Fatalf("round %d: no checkpoint of size %d", round, size)
		}
		wv, _ := audit.WitnessVerifier(ws.w.VerifierKey())
		if err := audit.CheckCosigned(raw, wv); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
