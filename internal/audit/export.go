package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/store"
)

// ExportFormat names the export's layout; VerifyExport refuses others.
const ExportFormat = "voicedr.audit/v1"

// exportFile is what Export writes and VerifyExport reads:
//
//	{"format":"voicedr.audit/v1",
//	 "public_keys":{"<key id>":"<base64 of the 32-byte ed25519 key>"},
//	 "checkpoints":[{"seq","hash","at","key_id","signature":"<base64>"}…],
//	 "entries":[{"seq","at","kind","actor","subject","body","prev","hash"}…]}
//
// An auditor can re-check it with any JCS library and sha256 (see the
// package comment for the hashed form and CheckpointMessage for the signed
// one), without voicedr.
type exportFile struct {
	Format      string              `json:"format"`
	PublicKeys  map[string]string   `json:"public_keys"`
	Checkpoints []store.Checkpoint  `json:"checkpoints"`
	Entries     []store.AuditRecord `json:"entries"`
}

// Export writes the whole chain, its checkpoints and the public keys of Key
// and PublicKeys as JSON for auditors, one entry per line. Checkpoints are
// read before entries, so every seq they name is in the file even while
// others append.
func (l *Log) Export(ctx context.Context, w io.Writer) error {
	keys := map[string]string{}
	pubs := append([]ed25519.PublicKey(nil), l.PublicKeys...)
	if l.Key != nil {
		pubs = append(pubs, l.Key.Public)
	}
	for _, p := range pubs {
		if len(p) != ed25519.PublicKeySize {
			return fmt.Errorf("audit export: a public key is %d bytes, want %d", len(p), ed25519.PublicKeySize)
		}
		keys[signing.KeyID(p)] = base64.StdEncoding.EncodeToString(p)
	}
	cps, err := l.Store.Checkpoints(ctx)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if cps == nil {
		cps = []store.Checkpoint{}
	}
	bw := bufio.NewWriter(w)
	head, err := json.Marshal(struct {
		Format      string             `json:"format"`
		PublicKeys  map[string]string  `json:"public_keys"`
		Checkpoints []store.Checkpoint `json:"checkpoints"`
	}{ExportFormat, keys, cps})
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	// Splice "entries" into the object so entries stream page by page.
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"entries":[`)
	var after int64
	n := 0
	for {
		recs, err := l.Store.AuditRecords(ctx, after, pageSize)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		for _, r := range recs {
			b, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("audit export: entry %d: %w", r.Seq, err)
			}
			if n > 0 {
				bw.WriteByte(',')
			}
			bw.WriteByte('\n')
			bw.Write(b)
			n++
		}
		if len(recs) < pageSize {
			break
		}
		after = recs[len(recs)-1].Seq
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit export: write: %w", err)
	}
	return nil
}

// VerifyExport verifies an exported file offline. Without trusted keys the
// checkpoints are checked with the public keys the file carries, which
// proves the file is internally intact (Report.SelfAttested) but not who
// signed it: whoever rewrote it could have re-signed it with a key of their
// own. With trusted keys, only they count, and a checkpoint by any other
// key fails. The error is for a file that is not a well-formed export; a
// tampered one is a Report with OK false.
func VerifyExport(r io.Reader, trusted ...ed25519.PublicKey) (Report, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Report{}, fmt.Errorf("read audit export: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f exportFile
	if err := dec.Decode(&f); err != nil {
		return Report{}, fmt.Errorf("audit export is not valid %s JSON: %w", ExportFormat, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Report{}, fmt.Errorf("audit export has data after its JSON object")
	}
	if f.Format != ExportFormat {
		return Report{}, fmt.Errorf("audit export format is %q, want %q", f.Format, ExportFormat)
	}
	pubs := map[string]ed25519.PublicKey{}
	for _, t := range trusted {
		if len(t) != ed25519.PublicKeySize {
			return Report{}, fmt.Errorf("trusted key is %d bytes, want %d", len(t), ed25519.PublicKeySize)
		}
		pubs[signing.KeyID(t)] = t
	}
	ids := make([]string, 0, len(f.PublicKeys))
	for id := range f.PublicKeys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p, err := base64.StdEncoding.DecodeString(f.PublicKeys[id])
		if err != nil || len(p) != ed25519.PublicKeySize {
			return Report{}, fmt.Errorf("audit export: public key %s is not a base64 ed25519 key", id)
		}
		if got := signing.KeyID(p); got != id {
			return Report{}, fmt.Errorf("audit export: public key listed as %s has ID %s", id, got)
		}
		if len(trusted) == 0 {
			pubs[id] = p
		}
	}
	// Entries are checked in file order: a reordered file is a problem to
	// report, not something to sort away.
	v := newVerifier(1, f.Checkpoints)
	for _, e := range f.Entries {
		v.feed(e)
	}
	rep := v.finish(f.Checkpoints, pubs)
	rep.SelfAttested = len(trusted) == 0 && len(f.Checkpoints) > 0
	return rep, nil
}
