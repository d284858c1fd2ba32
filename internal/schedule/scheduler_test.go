package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/schedule"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/workbook"
)

// rig is a Scheduler over a real SQLite store with a fake tabletop runner
// that records each run as the real runner would, and a fake reminder.
type rig struct {
	s         *schedule.Scheduler
	st        store.Store
	runs      []string // drill names, in run order
	reminders []schedule.Due
	runErr    error // returned by the runner, which then records nothing
}

func newRig(t *testing.T, drills ...workbook.Drill) *rig {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "voicedr.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{st: st}
	r.s = &schedule.Scheduler{
		Workbook: &workbook.Workbook{Drills: drills},
		Store:    st,
		Retry:    time.Hour,
		Remind: func(_ context.Context, d schedule.Due) error {
			r.reminders = append(r.reminders, d)
			return nil
		},
	}
	return r
}

// runner returns a RunTabletop that saves a drill record started and ended
// at the clock's time, as internal/drill does.
func (r *rig) runner(clock *time.Time) func(context.Context, workbook.Drill) error {
	return func(ctx context.Context, d workbook.Drill) error {
		if r.runErr != nil {
			return r.runErr
		}
		r.runs = append(r.runs, d.Name)
		return r.st.SaveDrill(ctx, store.Drill{ID: fmt.Sprintf("drill-%d", len(r.runs)), Flow: d.Flow, Name: d.Name, Kind: d.Kind,
			Scenario: "primary-voice-down", Outcome: "passed", StartedAt: *clock, EndedAt: clock.Add(2 * time.Minute)})
	}
}

func (r *rig) tick(t *testing.T, now time.Time) {
	t.Helper()
	if err := r.s.Tick(context.Background(), now); err != nil {
		t.Fatalf("tick at %s: %v", now, err)
	}
}

// TestSchedulerRunsQuarterlyTabletopOncePerPeriod is the schedule
// test: a quarterly tabletop drill never run is run at the first tick, not
// again at the next ticks (the store shows it), and again once the clock
// passes its next due date.
func TestSchedulerRunsQuarterlyTabletopOncePerPeriod(t *testing.T) {
	tt := workbook.Drill{Name: "cc-tabletop", Flow: "contact-center", Kind: schedule.KindTabletop, Cadence: schedule.Quarterly}
	r := newRig(t, tt)
	clock := day(2024, time.January, 31)
	r.s.RunTabletop = r.runner(&clock)

	r.tick(t, clock)
	if diff := cmp.Diff([]string{"cc-tabletop"}, r.runs); diff != "" {
		t.Fatalf("runs after the first tick (-want +got):\n%s", diff)
	}
	// Ticks through the quarter: the drill is not due.
	for _, later := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour, 60 * 24 * time.Hour} {
		clock = day(2024, time.January, 31).Add(later)
		r.tick(t, clock)
	}
	// Ended Jan 31 10:02, so due Apr 30 10:02: a day before, nothing.
	clock = day(2024, time.April, 29)
	r.tick(t, clock)
	if len(r.runs) != 1 {
		t.Fatalf("runs within the quarter = %v, want one", r.runs)
	}
	clock = day(2024, time.January, 31).AddDate(0, 3, 1) // 3 months + 1 day
	r.tick(t, clock)
	r.tick(t, clock.Add(time.Minute))
	if diff := cmp.Diff([]string{"cc-tabletop", "cc-tabletop"}, r.runs); diff != "" {
		t.Errorf("runs after the next due date (-want +got):\n%s", diff)
	}
	if len(r.reminders) != 0 {
		t.Errorf("reminders = %v, want none: a tabletop with a runner is run, not reminded", r.reminders)
	}
	hist, err := r.st.ListDrills(context.Background(), "contact-center", 0)
	if err != nil || len(hist) != 2 {
		t.Errorf("store holds %d drills (%v), want 2", len(hist), err)
	}
}

// TestSchedulerRemindsLiveDrillOncePerPeriod: a live drill is never run by
// the scheduler; it is reminded of once when due, again only after a whole
// period without it, and anew once it ran and falls due again.
func TestSchedulerRemindsLiveDrillOncePerPeriod(t *testing.T) {
	live := workbook.Drill{Name: "support-live", Flow: "support", Kind: schedule.KindLive, Cadence: schedule.Annual, Cohort: "drill"}
	r := newRig(t, live)
	clock := day(2024, time.March, 1)
	r.s.RunTabletop = r.runner(&clock)

	for _, d := range []time.Duration{0, time.Hour, 30 * 24 * time.Hour, 300 * 24 * time.Hour} {
		r.tick(t, clock.Add(d))
	}
	if len(r.runs) != 0 {
		t.Fatalf("runs = %v, want none: live drills are reminded of, never run", r.runs)
	}
	if len(r.reminders) != 1 || !r.reminders[0].Never || r.reminders[0].Drill.Name != "support-live" {
		t.Fatalf("reminders in the first year = %+v, want one for the never-run drill", r.reminders)
	}
	// Still not run a year after the reminder: one more reminder.
	r.tick(t, day(2025, time.March, 1))
	r.tick(t, day(2025, time.March, 2))
	if len(r.reminders) != 2 {
		t.Fatalf("reminders after a year overdue = %d, want 2", len(r.reminders))
	}
	// The team runs it; a year later it is due again and reminded of once.
	ran := day(2025, time.March, 10)
	if err := r.st.SaveDrill(context.Background(), store.Drill{ID: "live-1", Flow: "support", Name: "support-live", Kind: schedule.KindLive,
		StartedAt: ran.Add(-time.Hour), EndedAt: ran}); err != nil {
		t.Fatal(err)
	}
	r.tick(t, day(2025, time.March, 11))
	if len(r.reminders) != 2 {
		t.Fatalf("reminders right after the drill ran = %d, want 2", len(r.reminders))
	}
	r.tick(t, day(2026, time.March, 10))
	r.tick(t, day(2026, time.March, 11))
	if len(r.reminders) != 3 {
		t.Fatalf("reminders once due again = %d, want 3", len(r.reminders))
	}
	got := r.reminders[2]
	if got.Never || !got.Last.Equal(ran) || !got.Next.Equal(day(2026, time.March, 10)) {
		t.Errorf("third reminder = %+v, want last %s, next 2026-03-10", got, ran)
	}
}

// TestSchedulerWithoutRunnerRemindsTabletop: with no tabletop runner (the
// server was built without one) a due tabletop is reminded of instead.
func TestSchedulerWithoutRunnerRemindsTabletop(t *testing.T) {
	r := newRig(t, workbook.Drill{Name: "t", Flow: "f", Kind: schedule.KindTabletop, Cadence: schedule.Weekly})
	r.tick(t, day(2024, time.May, 1))
	r.tick(t, day(2024, time.May, 2))
	if len(r.reminders) != 1 {
		t.Errorf("reminders = %d, want 1", len(r.reminders))
	}
}

// TestSchedulerDoesNotRestartATabletop: a run of the drill that started in
// the period and has not ended (it is running, or died) holds off another,
// and a runner failing without a record is retried only after Retry.
func TestSchedulerDoesNotRestartATabletop(t *testing.T) {
	tt := workbook.Drill{Name: "t", Flow: "f", Kind: schedule.KindTabletop, Cadence: schedule.Monthly}
	r := newRig(t, tt)
	clock := day(2024, time.May, 1)
	r.s.RunTabletop = r.runner(&clock)
	if err := r.st.SaveDrill(context.Background(), store.Drill{ID: "running", Flow: "f", Name: "t", Kind: schedule.KindTabletop,
		StartedAt: clock.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r.tick(t, clock)
	if len(r.runs) != 0 {
		t.Fatalf("runs = %v, want none while one started this month has not ended", r.runs)
	}

	r.runErr = errors.New("emulator failed to start")
	attempts := 0
	r.s.RunTabletop = func(ctx context.Context, d workbook.Drill) error {
		attempts++
		return r.runner(&clock)(ctx, d)
	}
	clock = day(2024, time.June, 2)
	r.tick(t, clock)
	r.tick(t, clock.Add(59*time.Minute))
	if attempts != 1 {
		t.Fatalf("attempts within the retry delay = %d, want 1", attempts)
	}
	r.runErr = nil
	clock = clock.Add(time.Hour)
	r.tick(t, clock)
	if attempts != 2 || len(r.runs) != 1 {
		t.Errorf("after the retry delay: attempts %d, runs %v; want 2 attempts and one run", attempts, r.runs)
	}
}

// TestSchedulerRunStopsWithContext: Run ticks at once (with the injected
// clock) and returns when its context ends.
func TestSchedulerRunStopsWithContext(t *testing.T) {
	r := newRig(t, workbook.Drill{Name: "t", Flow: "f", Kind: schedule.KindTabletop, Cadence: schedule.Weekly})
	clock := day(2024, time.May, 1)
	r.s.Now = func() time.Time { return clock }
	r.s.Interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.s.RunTabletop = func(ctx context.Context, d workbook.Drill) error {
		err := r.runner(&clock)(ctx, d)
		cancel()
		return err
	}
	if err := r.s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"t"}, r.runs); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if err := (&schedule.Scheduler{}).Run(ctx); err == nil {
		t.Error("Run without a workbook and store: no error")
	}
}

// TestSchedulerRetriesADrillThatCouldNotRun: a drill record that ended in
// error (the drill could not run, e.g. serve shut down mid-drill) neither
// counts as this period's rehearsal nor blocks the next attempt.
func TestSchedulerRetriesADrillThatCouldNotRun(t *testing.T) {
	tt := workbook.Drill{Name: "t", Flow: "f", Kind: schedule.KindTabletop, Cadence: schedule.Monthly}
	r := newRig(t, tt)
	clock := day(2024, time.May, 1)
	r.s.RunTabletop = r.runner(&clock)
	if err := r.st.SaveDrill(context.Background(), store.Drill{ID: "cut-short", Flow: "f", Name: "t", Kind: schedule.KindTabletop,
		Outcome: "error", StartedAt: clock.Add(-2 * time.Hour), EndedAt: clock.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r.tick(t, clock)
	if len(r.runs) != 1 {
		t.Fatalf("runs = %v, want one: the drill that could not run is still due", r.runs)
	}
}
