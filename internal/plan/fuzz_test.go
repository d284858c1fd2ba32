package plan_test

import (
	"bytes"
	"testing"

	"github.com/voicedr/voicedr/internal/plan"
)

// FuzzRead feeds plan.Read arbitrary bytes: it must never panic, and any
// plan it accepts must write back to bytes it reads to the same digest (a
// plan it accepts is one it can apply and evidence can bind to).
func FuzzRead(f *testing.F) {
	s, support := account(f, 1)
	p := make1(f, s, book(f, support[0], nil), plan.Failover)
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"voicedr.plan/v1"}`))
	f.Add([]byte(`{"format":"voicedr.plan/v1","digest":"x","flow":"a","from":"us1","to":"ie1","observed":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := plan.Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := p.Write(&out); err != nil {
			t.Fatalf("accepted plan does not write: %v", err)
		}
		again, err := plan.Read(&out)
		if err != nil || again.Digest != p.Digest {
			t.Fatalf("accepted plan does not read back to its digest: %v", err)
		}
	})
}
