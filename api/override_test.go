package api

import (
	"strings"
	"testing"
	"time"
)

// What a justification must hold: printable text with at least
// minJustification letters or digits, at most maxJustification characters
// (25 NUL characters were accepted as one).
func TestOverrideJustification(t *testing.T) {
	now := time.Now()
	soon := now.Add(time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name, justification, ticket string
		ok                          bool
		says                        string
	}{
		{"plain reason", "regulator-approved emergency migration INC-4711", "INC-4711", true, ""},
		{"lines, tabs and accents", "Évacuation d'urgence:\n\tcentre de données inondé, accord du DPO", "", true, ""},
		{"NUL characters", strings.Repeat("\x00", 25), "", false, "U+0000"},
		{"escape sequences", "migration approved\x1b[2K\x1b[1Aby the DPO, INC-4711", "", false, "U+001B"},
		{"bidi override", "approved by legal \u202eINC-4711 for migration", "", false, "U+202E"},
		{"zero-width padding", "approved" + strings.Repeat("\u200b", 30), "", false, "U+200B"},
		{"invalid UTF-8 as decoded", "approved \ufffd\ufffd\ufffd emergency migration", "", false, "U+FFFD"},
		{"punctuation and spaces only", strings.Repeat(". - ", 20), "", false, "letters or digits"},
		{"too few letters", "see INC-4711 .......", "", false, "letters or digits"},
		{"too long", strings.Repeat("a", maxJustification+1), "", false, "at most"},
		{"control character in the ticket", "regulator-approved emergency migration INC-4711", "INC\x00", false, "ticket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := OverrideRequest{Justification: tt.justification, Expires: soon, Ticket: tt.ticket}
			_, details := r.check(now, DefaultMaxOverride)
			if tt.ok {
				if len(details) > 0 {
					t.Fatalf("refused: %+v", details)
				}
				return
			}
			if len(details) == 0 {
				t.Fatal("accepted")
			}
			if got := details[0].Path + ": " + details[0].Message; !strings.Contains(got, tt.says) {
				t.Fatalf("refused with %q, want it to say %q", got, tt.says)
			}
		})
	}
}
