package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sovereign-engine/sovereign/audit"
)

// A record whose request and result live in a body (audit.BodyRef) is
// reported from the body, and an evidence pack carries the body beside the
// entry: altered or left out, the pack is refused.
func TestEvidenceCarriesBodies(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	var res strings.Builder
	res.WriteString(`{"allowed": false, "sites": [`)
	for i := range 2000 {
		if i > 0 {
			res.WriteByte(',')
		}
		fmt.Fprintf(&res, `{"site": "edge-%05d", "allowed": false, "violations": [{"rule": "gdpr.chapter5.no_basis", "message": "edge-%05d: no transfer basis", "citation": "GDPR Art. 44"}]}`, i, i)
	}
	res.WriteString(`]}`)
	big := testRecord(1)
	big.Result = json.RawMessage(res.String())
	for _, r := range []*audit.Record{testRecord(0), big, testRecord(2)} {
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if big.Body == nil {
		t.Fatal("the large record was not given a body")
	}
	closeTest(t, l)
	o := reportOptions(t, dir)
	f := &reportFixture{dir: dir, n: 3, opts: o}

	js, _ := f.write(t, o, FormatJSON)
	if !bytes.Contains(js, []byte("GDPR Art. 44")) || !bytes.Contains(js, []byte("edge-01999")) {
		t.Fatalf("the JSON report did not read the body: %.400s", js)
	}
	pack, _ := f.write(t, o, FormatEvidence)
	sum, err := VerifyEvidence(context.Background(), bytes.NewReader(pack), o.Log.Keys, o.Log.Verifier)
	if err != nil || sum.Entries != 3 {
		t.Fatalf("pack with a body: %+v %v", sum, err)
	}
	for name, edit := range map[string]func([]byte) []byte{
		"body altered": func(b []byte) []byte { return bytes.Replace(b, []byte(`edge-01000: no`), []byte(`edge-01000: No`), 1) },
		"body dropped": func(b []byte) []byte {
			lines := bytes.Split(b, []byte("\n"))
			for k, line := range lines {
				var l EvidenceLine
				if json.Unmarshal(line, &l) == nil && l.Body != nil {
					l.Body = nil
					lines[k], _ = json.Marshal(&l)
				}
			}
			return bytes.Join(lines, []byte("\n"))
		},
	} {
		bad := rewritePack(t, pack, func(member string, data []byte) []byte {
			if strings.HasPrefix(member, EvidenceRecordsDir) {
				return edit(bytes.Clone(data))
			}
			return data
		})
		_, err := VerifyEvidence(context.Background(), bytes.NewReader(bad), o.Log.Keys, o.Log.Verifier)
		var ee *EvidenceError
		if !errors.As(err, &ee) || ee.Index != 1 {
			t.Errorf("%s: %v, want an *EvidenceError at entry 1", name, err)
		}
	}
}
