// Package schedule keeps the DR program's rhythm: the workbook sets each
// drill's cadence, and this package says which drills are due, runs the
// due tabletop drills and reminds people of the due live ones.
//
// The rules, in one place:
//
//   - A workbook drill's history is the store's drill records with its name.
//     A record without a workbook name (an ad hoc `voicedr drill`) or with a
//     name the workbook no longer has (a renamed entry) counts for every
//     workbook drill of the same flow and kind: the rehearsal happened, and
//     the program should not ask for it again because of a label.
//   - Last is when the newest of those records ended. Only an ended drill
//     counts, whatever its outcome: a drill that found gaps was still a
//     rehearsal (its findings are action items), while one still running,
//     or one that died before ending, proves nothing yet.
//   - Next is Last plus the cadence: weekly is 7 days; monthly, quarterly,
//     semiannual and annual are 1, 3, 6 and 12 calendar months. A month
//     later than a day the next month lacks is that month's last day (a
//     month after Jan 31 is Feb 28 or 29), not time.AddDate's normalised
//     date in the month after (Mar 2 or 3), which would silently stretch a
//     monthly cadence by days and let a drill slip past a month's end.
//   - A drill is due, and overdue, from Next on: the cadence is the deadline
//     and there is no grace period, so readiness and reminders agree.
//   - A drill never run is due now and overdue (Never): an unrehearsed
//     failover plan exists only on paper, whatever its age.
//
// Status is pure (no I/O, no clock) so the CLI, readiness and the server
// judge the same history the same way; the Scheduler adds the clock, the
// store and the actions.
package schedule

import (
	"time"

	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Cadences, as written in the workbook.
const (
	Weekly     = "weekly"
	Monthly    = "monthly"
	Quarterly  = "quarterly"
	Semiannual = "semiannual"
	Annual     = "annual"
)

// Kinds of drill, as written in the workbook.
const (
	KindTabletop = "tabletop"
	KindLive     = "live"
)

// Due is one workbook drill's standing against its cadence.
type Due struct {
	Drill workbook.Drill `json:"drill"`
	// Last is when the drill's newest matching record ended; zero if never.
	Last time.Time `json:"last,omitzero"`
	// Next is when the drill is due: Last plus the cadence, or now if it
	// never ran.
	Next    time.Time `json:"next"`
	Overdue bool      `json:"overdue"`
	Never   bool      `json:"never"`
}

// Add returns t plus one period of cadence, and false for a cadence the
// workbook does not define. Months are calendar months, clamped to the
// target month's last day (see the package comment).
func Add(t time.Time, cadence string) (time.Time, bool) {
	switch cadence {
	case Weekly:
		return t.AddDate(0, 0, 7), true
	case Monthly:
		return addMonths(t, 1), true
	case Quarterly:
		return addMonths(t, 3), true
	case Semiannual:
		return addMonths(t, 6), true
	case Annual:
		return addMonths(t, 12), true
	}
	return time.Time{}, false
}

// addMonths adds n calendar months, keeping the day of the month unless the
// target month is shorter, and then taking its last day.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// Status judges every drill against history (in any order) at now, in the
// order of drills. A drill whose cadence is unknown (workbook validation
// refuses one) gets a zero Next and is overdue only if it never ran.
func Status(drills []workbook.Drill, history []store.Drill, now time.Time) []Due {
	named := make(map[string]bool, len(drills))
	for _, d := range drills {
		named[d.Name] = true
	}
	out := make([]Due, 0, len(drills))
	for _, d := range drills {
		due := Due{Drill: d}
		for _, h := range history {
			if Matches(d, h, named) && rehearsed(h) && h.EndedAt.After(due.Last) {
				due.Last = h.EndedAt
			}
		}
		if due.Last.IsZero() {
			due.Never, due.Overdue, due.Next = true, true, now
		} else if next, ok := Add(due.Last, d.Cadence); ok {
			due.Next, due.Overdue = next, !now.Before(next)
		}
		out = append(out, due)
	}
	return out
}

// Matches says whether record h is a run of workbook drill d. named holds
// every workbook drill name: a record carrying one of them belongs to that
// entry only; any other record counts for every entry of its flow and kind.
func Matches(d workbook.Drill, h store.Drill, named map[string]bool) bool {
	if h.Name == d.Name {
		return true
	}
	return !named[h.Name] && h.Flow == d.Flow && h.Kind == d.Kind
}

// Overdue returns the overdue entries of ds.
func Overdue(ds []Due) []Due {
	var out []Due
	for _, d := range ds {
		if d.Overdue {
			out = append(out, d)
		}
	}
	return out
}

// rehearsed tells a drill that ran to its end, whatever it found, from one
// that could not run (outcome "error": bad input, shutdown), which proves
// nothing.
func rehearsed(h store.Drill) bool {
	return !h.EndedAt.IsZero() && h.Outcome != outcomeError
}

// outcomeError is package drill's outcome of a drill that could not run.
const outcomeError = "error"
