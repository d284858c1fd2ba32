package plan_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
	"github.com/voicedr/voicedr/internal/workbook"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const wbYAML = `version: 1
program: t
regions:
  - {region: us1, role: primary, app: {voice_url: "https://us1.support.acme.example/voice"}}
  - {region: ie1, edge: dublin, role: standby, app: {voice_url: "https://ie1.support.acme.example/voice", status_callback: "https://ie1.support.acme.example/status"}}
flows:
  - name: support
    criticality: critical
    selectors: {friendly_name_prefix: [support-]}
    trunks: [acme-cc.pstn.twilio.com]
    rto: 15m
    cohorts:
      - {name: drill, order: 1, numbers: [DRILL], gate: g, no_go: rollback}
      - {name: quarter, order: 2, share: 0.25, gate: g, no_go: rollback}
      - {name: rest, order: 3, share: 1, gate: g, no_go: pause}
signals:
  - {name: s, source: calls}
gates:
  - {name: g, window: 2s, conditions: [{signal: s, threshold: {op: ">=", value: 95, unit: percent}}]}
`

// account is a generated account whose standby is complete.
func account(t testing.TB, standbyShare float64) (*snapshot.Snapshot, []string) {
	t.Helper()
	s, _ := twilioemu.Generate(twilioemu.GenerateOptions{Numbers: 240, RandSeed: 5, StandbyShare: standbyShare, TakenAt: now.Add(-time.Minute)})
	var support []string
	for _, n := range s.Numbers {
		if strings.HasPrefix(n.FriendlyName, "support-") {
			support = append(support, n.PhoneNumber)
		}
	}
	if len(support) < 10 {
		t.Fatalf("generated account has %d support numbers; want at least 10", len(support))
	}
	return s, support
}

func book(t testing.TB, drill string, edit func(string) string) *workbook.Workbook {
	t.Helper()
	y := strings.ReplaceAll(wbYAML, "DRILL", `"`+drill+`"`)
	if edit != nil {
		y = edit(y)
	}
	wb, err := workbook.Parse("t.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return wb
}

func make1(t testing.TB, s *snapshot.Snapshot, wb *workbook.Workbook, kind string) *plan.Plan {
	t.Helper()
	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: kind, Now: now, WorkbookDigest: "wb"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCohortsCoverEveryNumberOnce(t *testing.T) {
	s, support := account(t, 1)
	p := make1(t, s, book(t, support[3], nil), plan.Failover)
	var names []string
	seen := map[string]string{}
	for _, c := range p.Cohorts {
		names = append(names, c.Name)
		for _, a := range c.Actions {
			if prev, dup := seen[a.Target]; dup {
				t.Fatalf("%s is in cohorts %s and %s", a.Target, prev, c.Name)
			}
			seen[a.Target] = c.Name
			if a.From != "us1" || a.To != "ie1" {
				t.Errorf("%s: moves %s → %s; want us1 → ie1", a.Key, a.From, a.To)
			}
		}
		if c.Kind == plan.KindNumber && len(c.Sample) != min(3, len(c.Actions)) {
			t.Errorf("cohort %s: sample %v; want %d numbers", c.Name, c.Sample, min(3, len(c.Actions)))
		}
	}
	if diff := cmp.Diff([]string{"drill", "quarter", "rest", "trunk:acme-cc.pstn.twilio.com"}, names); diff != "" {
		t.Errorf("cohorts (-want +got):\n%s", diff)
	}
	if got, want := len(seen), len(support)+1; got != want {
		t.Errorf("plan moves %d targets; want %d (every support number and the trunk)", got, want)
	}
	if got := p.Cohorts[0].Actions; len(got) != 1 || got[0].Target != support[3] {
		t.Errorf("drill cohort moves %v; want only %s", got, support[3])
	}
	if got, want := len(p.Cohorts[1].Actions), (len(support)-1+3)/4; got != want {
		t.Errorf("quarter cohort moves %d numbers; want ceil(0.25 × %d) = %d", got, len(support)-1, want)
	}
	// The same inputs make the same plan, to the digest.
	if again := make1(t, s, book(t, support[3], nil), plan.Failover); again.Digest != p.Digest {
		t.Errorf("digest %s, then %s for the same inputs", again.Digest, p.Digest)
	}
}

func TestUncoveredNumbersAreRefused(t *testing.T) {
	s, support := account(t, 1)
	wb := book(t, support[0], func(y string) string { return strings.Replace(y, "share: 1,", "share: 0.5,", 1) })
	_, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: now})
	if err == nil || !strings.Contains(err.Error(), "uncovered") {
		t.Fatalf("got %v; want an error naming uncovered numbers", err)
	}
}

func TestNotReadyUnlessAccepted(t *testing.T) {
	s, support := account(t, 0.5)
	wb := book(t, support[0], nil)
	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: now})
	if !errors.Is(err, plan.ErrNotReady) || p == nil || len(p.Gaps) == 0 {
		t.Fatalf("got plan %v, err %v; want the plan with its gaps and ErrNotReady", p != nil, err)
	}
	kinds := map[string]bool{}
	for _, g := range p.Gaps {
		kinds[g.Kind] = true
	}
	var accept []string
	for k := range kinds {
		accept = append(accept, k)
	}
	p2, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: now, Accept: accept})
	if err != nil {
		t.Fatalf("with %v accepted: %v", accept, err)
	}
	if p2.Digest == p.Digest {
		t.Error("accepting gaps did not change the digest; approvals must bind to what was accepted")
	}
}

func TestWriteReadAndTamper(t *testing.T) {
	s, support := account(t, 1)
	p := make1(t, s, book(t, support[0], nil), plan.Failover)
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := plan.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("round trip (-wrote +read):\n%s", diff)
	}
	tampered := bytes.Replace(buf.Bytes(), []byte(`"to":"ie1"`), []byte(`"to":"au1"`), 1)
	if _, err := plan.Read(bytes.NewReader(tampered)); err == nil || !strings.Contains(err.Error(), "edited") {
		t.Errorf("tampered plan: got %v; want a digest mismatch saying it was edited", err)
	}
	var sum bytes.Buffer
	if err := p.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Failover of flow support: us1 → ie1", p.Digest, "drill", "trunk:acme-cc.pstn.twilio.com"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
}

func TestDrift(t *testing.T) {
	s, support := account(t, 1)
	wb := book(t, support[0], nil)
	p := make1(t, s, wb, plan.Failover)
	clone := func() *snapshot.Snapshot {
		var b bytes.Buffer
		if err := s.Write(&b); err != nil {
			t.Fatal(err)
		}
		c, err := snapshot.Read(&b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	inFlow := func(n snapshot.Number) bool { f, ok := wb.FlowOf(n); return ok && f == "support" }
	if d := p.Drift(clone(), nil, inFlow); len(d) != 0 {
		t.Fatalf("unchanged account drifted: %v", d)
	}
	moved := clone()
	idx := func(s *snapshot.Snapshot, e string) int {
		for i, n := range s.Numbers {
			if n.PhoneNumber == e {
				return i
			}
		}
		t.Fatalf("%s not in snapshot", e)
		return -1
	}
	moved.Numbers[idx(moved, support[1])].Routing = snapshot.Route{VoiceRegion: "ie1", Explicit: true}
	key := "number:" + support[1]
	if d := p.Drift(moved, nil, inFlow); len(d) != 1 || d[0].Key != key || d[0].Now != "ie1" {
		t.Errorf("routing changed outside a run: drift %v; want one change of %s to ie1", d, key)
	}
	if d := p.Drift(moved, map[string]bool{key: true}, inFlow); len(d) != 0 {
		t.Errorf("routing moved by this plan's run: drift %v; want none", d)
	}
	edited := clone()
	edited.Numbers[idx(edited, support[2])].Records["ie1"].VoiceURL = "https://elsewhere.example/voice"
	if d := p.Drift(edited, nil, inFlow); len(d) != 1 || d[0].Field != "record in ie1: voice_url" || d[0].Now != "https://elsewhere.example/voice" {
		t.Errorf("standby record edited: drift %v; want one record change", d)
	}
	joined := clone()
	for i := range joined.Numbers {
		if strings.HasPrefix(joined.Numbers[i].FriendlyName, "sales-") {
			joined.Numbers[i].FriendlyName = "support-new"
			break
		}
	}
	if d := p.Drift(joined, nil, inFlow); len(d) != 1 || d[0].Field != "flow" {
		t.Errorf("a number joined the flow: drift %v; want it named", d)
	}
}

func TestFailbackMovesBackWhatIsInTheStandby(t *testing.T) {
	s, support := account(t, 1)
	for i := range s.Numbers {
		if strings.HasPrefix(s.Numbers[i].FriendlyName, "support-") {
			s.Numbers[i].Routing = snapshot.Route{VoiceRegion: "ie1", Explicit: true}
		}
	}
	p := make1(t, s, book(t, support[0], nil), plan.Failback)
	n := 0
	for _, a := range p.Actions() {
		if a.Kind == plan.KindNumber {
			n++
			if a.From != "ie1" || a.To != "us1" || !a.FromExplicit {
				t.Errorf("%s: %s → %s (explicit %v); want ie1 → us1 from an explicit route", a.Key, a.From, a.To, a.FromExplicit)
			}
		}
	}
	if n != len(support) {
		t.Errorf("failback moves %d numbers; want %d", n, len(support))
	}
	// Nothing to fail over: every support number is already in ie1.
	fo := make1(t, s, book(t, support[0], nil), plan.Failover)
	if got := len(fo.Actions()); got != 1 || fo.Already != len(support) {
		t.Errorf("failover of a moved flow: %d actions, %d already there; want only the trunk and %d already", got, fo.Already, len(support))
	}
}

// TestOnlyKeepsTheDrillCohort: a live drill's plan moves its drill cohort
// alone, the same number a full plan would put there, and a cohort name
// that is not in the flow is refused rather than making an empty drill.
func TestOnlyKeepsTheDrillCohort(t *testing.T) {
	s, support := account(t, 1)
	wb := book(t, support[5], nil)
	p, err := plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: now, Only: []string{"drill"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Cohorts) != 1 || p.Cohorts[0].Name != "drill" || len(p.Actions()) != 1 || p.Actions()[0].Target != support[5] {
		t.Fatalf("cohorts %+v; want the drill cohort moving %s alone", p.Cohorts, support[5])
	}
	if full := make1(t, s, wb, plan.Failover); full.Digest == p.Digest {
		t.Error("the drill plan has the full plan's digest; approvals of one must not count for the other")
	}
	_, err = plan.Make(plan.Input{Snapshot: s, Workbook: wb, Flow: "support", Kind: plan.Failover, Now: now, Only: []string{"drlil"}})
	if err == nil || !strings.Contains(err.Error(), `"drlil"`) {
		t.Errorf("unknown cohort: got %v; want an error naming it", err)
	}
}

// TestRestrictKeepsOnlyTheGivenActions: the failback of a live drill
// carries only what its failover moved, with a new digest.
func TestRestrictKeepsOnlyTheGivenActions(t *testing.T) {
	s, support := account(t, 1)
	p := make1(t, s, book(t, support[5], nil), plan.Failover)
	digest := p.Digest
	keep := map[string]bool{p.Cohorts[1].Actions[0].Key: true}
	if err := p.Restrict(keep); err != nil {
		t.Fatal(err)
	}
	if got := p.Actions(); len(got) != 1 || !keep[got[0].Key] || len(p.Cohorts) != 1 {
		t.Fatalf("after Restrict: cohorts %d, actions %+v; want the one kept action", len(p.Cohorts), got)
	}
	for _, n := range p.Cohorts[0].Sample {
		if !keep[plan.KindNumber+":"+n] {
			t.Errorf("sample keeps %s, which the plan no longer moves", n)
		}
	}
	if p.Digest == digest || p.Digest == "" {
		t.Errorf("digest %q after Restrict; want a new one", p.Digest)
	}
}
