package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Defaults for the zero Scheduler fields.
const (
	// DefaultInterval is how often the schedule is looked at: cadences are
	// weeks to a year, so a quarter of an hour is prompt enough and costs
	// one small query.
	DefaultInterval = 15 * time.Minute
	// DefaultRetry is how long a tabletop attempt holds off the next one of
	// the same drill when the store shows no run of it since (the runner
	// failed before recording one): a broken runner must not start a drill
	// at every tick.
	DefaultRetry = time.Hour
)

// Scheduler runs due tabletop drills and reminds people of due live ones.
// Set the fields, then call Run (or Tick, in tests). Fields are read-only
// once in use.
//
// It decides from the store's drill history on every tick, so a drill run
// by hand (`voicedr drill`) or by another server counts, and a restart
// neither repeats a drill nor loses one. Only reminders are remembered in
// memory: a restart may repeat one reminder, never a drill.
type Scheduler struct {
	Workbook *workbook.Workbook
	Store    store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Interval between ticks; zero means DefaultInterval.
	Interval time.Duration
	// Retry holds off a tabletop drill after an attempt the store does not
	// show; zero means DefaultRetry.
	Retry time.Duration
	// RunTabletop runs one due tabletop drill and returns when it ended,
	// having saved its record (with the drill's Name) in Store. Nil: no
	// runner is available, and due tabletop drills are reminded of like
	// live ones.
	RunTabletop func(ctx context.Context, d workbook.Drill) error
	// Remind tells people a drill is due; nil reminds no one. A reminder
	// that fails is tried again at the next tick.
	Remind func(ctx context.Context, d Due) error
	Logger *slog.Logger

	mu       sync.Mutex
	reminded map[string]reminder  // by drill name
	tried    map[string]time.Time // by drill name: last tabletop attempt
}

// reminder is the last reminder sent for a drill: the Last it was about and
// when it was sent.
type reminder struct {
	last, at time.Time
}

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Scheduler) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run ticks now and every Interval until ctx ends. A tick that fails is
// logged and the next one tries again: a database hiccup must not end the
// program's rhythm. Drills run inside the tick, one at a time, so Run
// returns only after the drill in progress (if any) has stopped.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.Workbook == nil || s.Store == nil {
		return errors.New("drill scheduler: workbook and store are required")
	}
	interval := s.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx, s.now()); err != nil && ctx.Err() == nil {
			s.log().Warn("drill schedule not checked; trying again at the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick looks at the schedule at now: it runs every due tabletop drill (one
// after another: each brings up its own emulated account, and drills
// running side by side would measure each other's load) and reminds of
// every due drill it does not run.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) error {
	if s.Workbook == nil || s.Store == nil {
		return errors.New("drill scheduler: workbook and store are required")
	}
	if len(s.Workbook.Drills) == 0 {
		return nil
	}
	history, err := s.Store.ListDrills(ctx, "", 0)
	if err != nil {
		return fmt.Errorf("drill scheduler: read drill history: %w", err)
	}
	var errs []error
	for _, d := range Status(s.Workbook.Drills, history, now) {
		if !d.Overdue || ctx.Err() != nil {
			continue
		}
		if d.Drill.Kind == KindTabletop && s.RunTabletop != nil {
			s.runTabletop(ctx, d, history, now)
			continue
		}
		if err := s.remind(ctx, d, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runTabletop starts d unless a run of it started within the current
// period (one is running, or one died before it ended: the store shows it)
// or an attempt the store does not show was made within Retry.
func (s *Scheduler) runTabletop(ctx context.Context, d Due, history []store.Drill, now time.Time) {
	named := make(map[string]bool, len(s.Workbook.Drills))
	for _, wd := range s.Workbook.Drills {
		named[wd.Name] = true
	}
	for _, h := range history {
		if !Matches(d.Drill, h, named) || h.StartedAt.IsZero() || h.Outcome == outcomeError {
			continue // an attempt that could not run is retried after Retry
		}
		if end, ok := Add(h.StartedAt, d.Drill.Cadence); ok && now.Before(end) {
			return
		}
	}
	retry := s.Retry
	if retry <= 0 {
		retry = DefaultRetry
	}
	s.mu.Lock()
	if s.tried == nil {
		s.tried = map[string]time.Time{}
	}
	last, ok := s.tried[d.Drill.Name]
	if ok && now.Before(last.Add(retry)) {
		s.mu.Unlock()
		return
	}
	s.tried[d.Drill.Name] = now
	s.mu.Unlock()
	s.log().Info("running scheduled tabletop drill", "drill", d.Drill.Name, "flow", d.Drill.Flow,
		"cadence", d.Drill.Cadence, "last", d.Last, "never", d.Never)
	if err := s.RunTabletop(ctx, d.Drill); err != nil {
		s.log().Error("scheduled tabletop drill failed; it is tried again after the retry delay", "drill", d.Drill.Name,
			"retry", retry, "err", err)
		return
	}
	s.log().Info("scheduled tabletop drill ended", "drill", d.Drill.Name)
}

// remind sends at most one reminder per drill per period: again only when
// the drill's Last changed (it ran, and is due once more) or a whole
// cadence period passed since the last reminder.
func (s *Scheduler) remind(ctx context.Context, d Due, now time.Time) error {
	if s.Remind == nil {
		return nil
	}
	s.mu.Lock()
	r, ok := s.reminded[d.Drill.Name]
	s.mu.Unlock()
	if ok && r.last.Equal(d.Last) {
		if again, known := Add(r.at, d.Drill.Cadence); !known || now.Before(again) {
			return nil
		}
	}
	if err := s.Remind(ctx, d); err != nil {
		return fmt.Errorf("drill scheduler: remind of %s: %w", d.Drill.Name, err)
	}
	s.mu.Lock()
	if s.reminded == nil {
		s.reminded = map[string]reminder{}
	}
	s.reminded[d.Drill.Name] = reminder{last: d.Last, at: now}
	s.mu.Unlock()
	return nil
}
