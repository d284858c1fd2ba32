package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/audit"
	"github.com/voicedr/voicedr/internal/store"
)

func exportOf(t testing.TB, f *fixture) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f.log.Export(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exportDoc is the export's layout as an auditor's tool would read it.
type exportDoc struct {
	Format      string              `json:"format"`
	PublicKeys  map[string]string   `json:"public_keys"`
	Checkpoints []store.Checkpoint  `json:"checkpoints"`
	Entries     []store.AuditRecord `json:"entries"`
}

func decodeExport(t *testing.T, b []byte) exportDoc {
	t.Helper()
	var d exportDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, b)
	}
	return d
}

func encode(t *testing.T, d exportDoc) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportRoundTrip(t *testing.T) {
	f := newFixture(t, 5)
	recs := f.appendN(t, 12)
	b := exportOf(t, f)
	d := decodeExport(t, b)
	if d.Format != "voicedr.audit/v1" {
		t.Errorf("format = %q", d.Format)
	}
	if diff := cmp.Diff(map[string]string{f.key.ID(): base64.StdEncoding.EncodeToString(f.key.Public)}, d.PublicKeys); diff != "" {
		t.Errorf("public_keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(recs, d.Entries); diff != "" {
		t.Errorf("entries (-stored +exported):\n%s", diff)
	}
	if len(d.Checkpoints) != 2 {
		t.Errorf("checkpoints = %d, want 2", len(d.Checkpoints))
	}
	if strings.Contains(string(b), base64.StdEncoding.EncodeToString(f.key.Private.Seed())) {
		t.Error("export carries the private key")
	}

	want := audit.Report{OK: true, Entries: 12, Checkpoints: 2, Head: 12, HeadHash: recs[11].Hash, CheckpointedThrough: 10, Pending: 2, SelfAttested: true}
	rep, err := audit.VerifyExport(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("VerifyExport with carried keys (-want +got):\n%s", diff)
	}
	want.SelfAttested = false
	rep, err = audit.VerifyExport(bytes.NewReader(b), f.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("VerifyExport with the trusted key (-want +got):\n%s", diff)
	}
	rep, err = audit.VerifyExport(bytes.NewReader(b), testKey(t, 50).Public)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.FirstBad.Kind != audit.ProblemUntrusted {
		t.Errorf("VerifyExport with another trusted key = %+v, want untrusted", rep)
	}
}

func TestExportEmptyChain(t *testing.T) {
	f := newFixture(t, 5)
	rep, err := audit.VerifyExport(bytes.NewReader(exportOf(t, f)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(audit.Report{OK: true}, rep); diff != "" {
		t.Errorf("VerifyExport of an empty chain (-want +got):\n%s", diff)
	}
}

func TestTamperedExportFails(t *testing.T) {
	tests := []struct {
		name    string
		tamper  func(t *testing.T, d *exportDoc)
		trusted bool
		want    audit.Problem
	}{
		{"entry body edited", func(t *testing.T, d *exportDoc) {
			d.Entries[3].Body = json.RawMessage(`{"step":"committed"}`)
		}, false, audit.Problem{Seq: 4, Kind: audit.ProblemAltered}},
		{"entry removed", func(t *testing.T, d *exportDoc) {
			d.Entries = append(d.Entries[:6:6], d.Entries[7:]...)
		}, false, audit.Problem{Seq: 7, Kind: audit.ProblemMissing}},
		{"entries reordered", func(t *testing.T, d *exportDoc) {
			d.Entries[2], d.Entries[3] = d.Entries[3], d.Entries[2]
		}, false, audit.Problem{Seq: 3, Kind: audit.ProblemMissing}},
		{"tail cut under a checkpoint", func(t *testing.T, d *exportDoc) {
			d.Entries = d.Entries[:8]
		}, false, audit.Problem{Seq: 9, Kind: audit.ProblemTruncated}},
		{"checkpoints swapped to another entry", func(t *testing.T, d *exportDoc) {
			d.Checkpoints[0].Seq = 6
		}, false, audit.Problem{Seq: 6, Kind: audit.ProblemSignature}},
		{"tail rewritten, re-hashed and re-signed with the attacker's key", func(t *testing.T, d *exportDoc) {
			rehashAndResign(t, d, 3)
		}, true, audit.Problem{Seq: 5, Kind: audit.ProblemUntrusted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 5)
			f.appendN(t, 12)
			d := decodeExport(t, exportOf(t, f))
			tt.tamper(t, &d)
			var trusted []ed25519.PublicKey
			if tt.trusted {
				trusted = append(trusted, f.key.Public)
			}
			rep, err := audit.VerifyExport(bytes.NewReader(encode(t, d)), trusted...)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.FirstBad == nil {
				t.Fatalf("VerifyExport = %+v, want a bad entry", rep)
			}
			got := *rep.FirstBad
			got.Reason = ""
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FirstBad (-want +got):\n%s\nreason: %s", diff, rep.FirstBad.Reason)
			}
		})
	}
}

// TestSelfAttestedExportProvesIntegrityOnly pins why a trusted key matters:
// a file rewritten and re-signed with the rewriter's own key, carrying that
// key, is internally consistent. Without a trusted key VerifyExport can only
// say so (SelfAttested); TestTamperedExportFails shows the trusted key
// catching it.
func TestSelfAttestedExportProvesIntegrityOnly(t *testing.T) {
	f := newFixture(t, 5)
	f.appendN(t, 12)
	d := decodeExport(t, exportOf(t, f))
	rehashAndResign(t, &d, 3)
	rep, err := audit.VerifyExport(bytes.NewReader(encode(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || !rep.SelfAttested {
		t.Errorf("VerifyExport = %+v, want OK but self-attested", rep)
	}
}

// rehashAndResign rewrites entries from seq k, re-hashes the chain and
// re-signs every checkpoint with a new key that it carries instead.
func rehashAndResign(t *testing.T, d *exportDoc, k int64) {
	t.Helper()
	for i := range d.Entries {
		r := &d.Entries[i]
		if r.Seq < k {
			continue
		}
		r.Body = json.RawMessage(fmt.Sprintf(`{"forged":%d}`, r.Seq))
		r.Prev = d.Entries[i-1].Hash
		r.Hash = attackerHash(t, *r)
	}
	attacker := testKey(t, 66)
	for i := range d.Checkpoints {
		c := &d.Checkpoints[i]
		c.Hash = d.Entries[c.Seq-1].Hash
		c.KeyID = attacker.ID()
		c.Signature = attacker.Sign(audit.CheckpointMessage(c.Seq, c.Hash))
	}
	d.PublicKeys = map[string]string{attacker.ID(): base64.StdEncoding.EncodeToString(attacker.Public)}
}

func TestVerifyExportRejectsMalformedFiles(t *testing.T) {
	f := newFixture(t, 5)
	f.appendN(t, 3)
	good := exportOf(t, f)
	other := testKey(t, 31)
	tests := map[string]string{
		"not JSON":        "hello",
		"wrong format":    strings.Replace(string(good), "voicedr.audit/v1", "voicedr.audit/v9", 1),
		"unknown field":   strings.Replace(string(good), `"format"`, `"extra":1,"format"`, 1),
		"trailing data":   string(good) + "{}",
		"bad key base64":  strings.Replace(string(good), `"public_keys":{"`+f.key.ID()+`":"`, `"public_keys":{"`+f.key.ID()+`":"!!`, 1),
		"key under wrong": strings.Replace(string(good), base64.StdEncoding.EncodeToString(f.key.Public), base64.StdEncoding.EncodeToString(other.Public), 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if rep, err := audit.VerifyExport(strings.NewReader(in)); err == nil {
				t.Errorf("VerifyExport = %+v, nil; want an error", rep)
			}
		})
	}
}
