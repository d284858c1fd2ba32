package twilioemu

import (
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// CallForTest is a call log as the call simulation would record it. The
// black-box tests use it to list and filter calls with start and end times
// (which the API's own queued calls do not have yet) without a simulation.
type CallForTest struct {
	To, From, ParentCallSID, Status, Direction string
	Start, End                                 time.Time
	Duration                                   int
}

// InjectCallForTest stores the call in the region and returns its SID.
func (e *Emulator) InjectCallForTest(r region.Region, tc CallForTest) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	cr := &callRecord{
		sid: e.acct.newSID("CA"), to: tc.To, from: tc.From, parentCallSID: tc.ParentCallSID,
		status: tc.Status, direction: tc.Direction, start: tc.Start, end: tc.End, duration: tc.Duration,
		created: tc.Start, updated: tc.End,
	}
	if cr.created.IsZero() {
		cr.created = e.clock.Now().UTC()
	}
	if cr.updated.IsZero() {
		cr.updated = cr.created
	}
	e.acct.regions[r].addCall(cr)
	return cr.sid
}
