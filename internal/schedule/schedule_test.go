package schedule_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/schedule"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/workbook"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

// TestAddCalendarMonths pins the cadence arithmetic, month ends above all:
// a month after Jan 31 is the end of February, not early March.
func TestAddCalendarMonths(t *testing.T) {
	for _, tc := range []struct {
		from    time.Time
		cadence string
		want    time.Time
	}{
		{day(2024, time.January, 31), schedule.Monthly, day(2024, time.February, 29)},
		{day(2023, time.January, 31), schedule.Monthly, day(2023, time.February, 28)},
		{day(2024, time.March, 31), schedule.Monthly, day(2024, time.April, 30)},
		{day(2024, time.January, 15), schedule.Monthly, day(2024, time.February, 15)},
		{day(2023, time.November, 30), schedule.Quarterly, day(2024, time.February, 29)},
		{day(2024, time.August, 31), schedule.Semiannual, day(2025, time.February, 28)},
		{day(2024, time.February, 29), schedule.Annual, day(2025, time.February, 28)},
		{day(2024, time.December, 31), schedule.Weekly, day(2025, time.January, 7)},
		{day(2024, time.October, 31), schedule.Quarterly, day(2025, time.January, 31)},
	} {
		got, ok := schedule.Add(tc.from, tc.cadence)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("Add(%s, %s) = %s, %v; want %s", tc.from.Format(time.DateOnly), tc.cadence, got, ok, tc.want)
		}
	}
	if _, ok := schedule.Add(day(2024, time.January, 1), "fortnightly"); ok {
		t.Error("Add accepted an unknown cadence")
	}
}

// TestStatusOverdueAcrossMonthEnd: a monthly drill last run on Jan 31 is
// due on Feb 29 (2024) and overdue from that instant, not in March.
func TestStatusOverdueAcrossMonthEnd(t *testing.T) {
	d := workbook.Drill{Name: "cc-monthly", Flow: "cc", Kind: schedule.KindTabletop, Cadence: schedule.Monthly}
	hist := []store.Drill{{ID: "d1", Flow: "cc", Name: "cc-monthly", Kind: schedule.KindTabletop,
		StartedAt: day(2024, time.January, 31).Add(-time.Hour), EndedAt: day(2024, time.January, 31)}}
	due := day(2024, time.February, 29)
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{day(2024, time.February, 28), false},
		{due.Add(-time.Nanosecond), false},
		{due, true},
		{day(2024, time.March, 1), true},
	} {
		got := schedule.Status([]workbook.Drill{d}, hist, tc.now)
		want := []schedule.Due{{Drill: d, Last: day(2024, time.January, 31), Next: due, Overdue: tc.want}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("at %s (-want +got):\n%s", tc.now, diff)
		}
	}
}

// TestStatusMatchesHistory: a record belongs to its named entry only; an
// ad hoc or renamed record counts for every entry of its flow and kind;
// only ended records count, and the newest wins.
func TestStatusMatchesHistory(t *testing.T) {
	now := day(2024, time.June, 1)
	drills := []workbook.Drill{
		{Name: "support-tabletop", Flow: "support", Kind: schedule.KindTabletop, Cadence: schedule.Quarterly},
		{Name: "support-live", Flow: "support", Kind: schedule.KindLive, Cadence: schedule.Annual},
		{Name: "support-tabletop-2", Flow: "support", Kind: schedule.KindTabletop, Cadence: schedule.Weekly},
		{Name: "cc-tabletop", Flow: "cc", Kind: schedule.KindTabletop, Cadence: schedule.Monthly},
	}
	hist := []store.Drill{
		// Named: counts for support-tabletop only, not for its sibling.
		{ID: "a", Flow: "support", Name: "support-tabletop", Kind: schedule.KindTabletop,
			StartedAt: day(2024, time.May, 1), EndedAt: day(2024, time.May, 1)},
		// Older, also named: the newest ended record wins.
		{ID: "b", Flow: "support", Name: "support-tabletop", Kind: schedule.KindTabletop,
			StartedAt: day(2024, time.January, 1), EndedAt: day(2024, time.January, 1)},
		// Ad hoc live drill of support: counts for support-live.
		{ID: "c", Flow: "support", Kind: schedule.KindLive, StartedAt: day(2023, time.September, 1), EndedAt: day(2023, time.September, 1)},
		// Renamed entry of cc: counts for cc-tabletop.
		{ID: "d", Flow: "cc", Name: "old-cc-name", Kind: schedule.KindTabletop,
			StartedAt: day(2024, time.May, 20), EndedAt: day(2024, time.May, 20)},
		// Still running (no end): proves nothing yet.
		{ID: "e", Flow: "cc", Name: "cc-tabletop", Kind: schedule.KindTabletop, StartedAt: day(2024, time.May, 31)},
		// Could not run (outcome error, e.g. cut short by a shutdown): it
		// ended, newer than a, but rehearsed nothing.
		{ID: "f", Flow: "support", Name: "support-tabletop", Kind: schedule.KindTabletop, Outcome: "error",
			StartedAt: day(2024, time.May, 10), EndedAt: day(2024, time.May, 10)},
	}
	got := schedule.Status(drills, hist, now)
	want := []schedule.Due{
		{Drill: drills[0], Last: day(2024, time.May, 1), Next: day(2024, time.August, 1)},
		{Drill: drills[1], Last: day(2023, time.September, 1), Next: day(2024, time.September, 1)},
		{Drill: drills[2], Next: now, Overdue: true, Never: true},
		{Drill: drills[3], Last: day(2024, time.May, 20), Next: day(2024, time.June, 20)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[2:3], schedule.Overdue(got)); diff != "" {
		t.Errorf("overdue (-want +got):\n%s", diff)
	}
}
