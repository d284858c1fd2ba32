package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/audit"
)

var update = flag.Bool("update", false, "rewrite testdata/entry.golden from the current output")

// TestEntryHashGolden pins the canonical form and hash of one fixed entry,
// so the hashed form (field names, time format, JCS key order and number
// and string escaping) can never drift silently: a drift would make every
// stored chain fail to verify. The golden file holds the canonical bytes
// on its first line and their hash on the second; the test also checks the
// second is sha256 of the first, so the file can be reviewed by eye.
func TestEntryHashGolden(t *testing.T) {
	f := newFixture(t, 5)
	at := time.Date(2026, 3, 1, 12, 0, 0, 5000, time.FixedZone("CET", 3600))
	f.log.Now = func() time.Time { return at }
	body := map[string]any{
		"plan_digest": "9f86d081884c7d65",
		"zeta":        []any{1.5, 1e21, -0.0, 100, "€ \u2028 <tag> \"q\""},
		"approvers":   map[string]any{"bob": "sre", "alice": "owner", "Ålice": "x"},
		"note":        nil,
	}
	r, err := f.log.Append(context.Background(), "approval", "alice", "plan:9f86d081", body)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := audit.Canonical(r)
	if err != nil {
		t.Fatal(err)
	}
	got := append(append(canon, '\n'), r.Hash+"\n"...)
	path := filepath.Join("testdata", "entry.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("canonical entry and hash drifted:\ngot:\n%s\nwant:\n%s", got, want)
	}
	lines := bytes.SplitN(want, []byte("\n"), 3)
	sum := sha256.Sum256(lines[0])
	if hex.EncodeToString(sum[:]) != string(lines[1]) {
		t.Errorf("golden hash %s is not sha256 of the golden canonical line", lines[1])
	}
	if h, err := audit.EntryHash(r); err != nil || h != r.Hash {
		t.Errorf("EntryHash = %s, %v; want the appended %s", h, err, r.Hash)
	}
}
