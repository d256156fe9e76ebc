package audit

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestScanWindowDecode: what decode returns for an entry reaches fn with that
// entry, in index order; a decode error ends the scan at its entry and is
// returned as it is, with fn not called for that entry or any after it.
func TestScanWindowDecode(t *testing.T) {
	tl, cp := smallLog(t, 300) // two entry bundles
	const n = 300
	type decoded struct {
		index uint64
		kind  Kind
	}
	errStop := errors.New("stop here")
	for _, tc := range []struct {
		name        string
		first, end  uint64
		failAt      uint64 // decode fails at this index; 0: never
		wantEntries int
	}{
		{"whole log", 0, n, 0, n},
		{"a window across bundles", 200, 290, 0, 90},
		{"decode fails", 0, n, 260, 260},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := tc.first
			err := ScanWindow(context.Background(), tl, cp, tc.first, tc.end, func(e *VerifiedEntry) (decoded, error) {
				if tc.failAt != 0 && e.Index == tc.failAt {
					return decoded{}, errStop
				}
				return decoded{e.Index, e.Kind}, nil
			}, func(e *VerifiedEntry, d decoded) error {
				if e.Index != next || d.index != e.Index || d.kind != KindPlacement || e.Time.IsZero() {
					t.Fatalf("entry %d (want %d): decoded %+v, time %v", e.Index, next, d, e.Time)
				}
				next++
				return nil
			}, nil)
			if tc.failAt != 0 {
				if !errors.Is(err, errStop) {
					t.Fatalf("ScanWindow = %v, want the decode error", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := int(next - tc.first); got != tc.wantEntries {
				t.Errorf("fn saw %d entries, want %d", got, tc.wantEntries)
			}
		})
	}
}

// smallLog writes a closed log of n records and returns it as an auditor
// trusts it, with its checkpoint.
func smallLog(t *testing.T, n int) (*TrustedLog, *Checkpoint) {
	t.Helper()
	dir := t.TempDir()
	l := openTest(t, dir)
	appendN(t, l, n, 4)
	waitPublished(t, l, uint64(n))
	closeTest(t, l)
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := NewTrustedLog(dir, src, l.PublicKeysPEM(), l.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tl.Checkpoint(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	return tl, cp
}

func TestFindIndexByTime(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, dir)
	day0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 600 // three entry bundles
	times := make([]time.Time, n)
	for i := range times {
		times[i] = day0.Add(time.Duration(i) * time.Minute)
		r := testRecord(i)
		r.Time = times[i]
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	closeTest(t, l)
	src, err := NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 2, 255, 256, 257, n / 2, n - 1} {
		got, err := FindIndexByTime(context.Background(), src, n, times[i])
		if err != nil || got != uint64(i) {
			t.Errorf("time of record %d: index %d, %v", i, got, err)
		}
		// Between two records: the later one.
		if got, err := FindIndexByTime(context.Background(), src, n, times[i].Add(-time.Second)); err != nil || got != uint64(i) {
			t.Errorf("just before record %d: index %d, %v", i, got, err)
		}
	}
	if got, _ := FindIndexByTime(context.Background(), src, n, times[n-1].Add(time.Hour)); got != n {
		t.Errorf("after the end: %d, want %d", got, n)
	}
}

// TestScanRecordHeadMemberNames: the head of a record is read as
// encoding/json reads it, whether its member names are plain (as canonical
// records' are) or escaped; what is not a record is refused.
func TestScanRecordHeadMemberNames(t *testing.T) {
	for _, tc := range []struct {
		rec  string
		want recordHead
		bad  bool
	}{
		{rec: `{"bundle":{"id":"x"},"id":"a","kind":"decision.placement","links":[{"id":"b"}],"time":"2026-03-01T00:00:00Z"}`,
			want: recordHead{ID: "a", Kind: KindPlacement, Time: "2026-03-01T00:00:00Z"}},
		{rec: `{"\u0069d":"a","ki\u006ed":"override","tim\u0065":"t","ti\"me":"no"}`,
			want: recordHead{ID: "a", Kind: KindOverride, Time: "t"}},
		{rec: ` { "id" : "a" , "idx" : 1 , "kind2" : "x" , "" : "" } `, want: recordHead{ID: "a"}},
		{rec: `{"body":{"sha256":"ab","size":1},"id":"a","result":{}}`,
			want: recordHead{ID: "a", body: []byte(`{"sha256":"ab","size":1}`), payload: true}},
		{rec: "{\"i\xffd\":\"a\"}", bad: true},
		{rec: `{"id":"a","kind`, bad: true},
		{rec: `{"id":1}`, bad: true},
		{rec: `["id"]`, bad: true},
	} {
		got, err := scanRecordHead([]byte(tc.rec))
		if tc.bad {
			if err == nil {
				t.Errorf("%s: read as %+v, want an error", tc.rec, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.rec, got, err, tc.want)
		}
	}
}
