package readiness

import (
	"fmt"
	"time"
)

// OverdueDrill is a workbook drill past its cadence. The caller computes it
// (package schedule, from the store's drill history) so that readiness
// stays a judgement over values, free of the store and the clock's rules
// for calendar months.
type OverdueDrill struct {
	Name    string `json:"name"`
	Flow    string `json:"flow"` // the check's flow when empty
	Kind    string `json:"kind"` // tabletop or live
	Cadence string `json:"cadence"`
	// Last is when it last ended; zero if it never ran.
	Last time.Time `json:"last"`
	// Due is when it fell due.
	Due time.Time `json:"due"`
}

// overdueScenario is the scenario a remediation suggests for an overdue drill: a
// primary region outage is what the failover plan exists for.
const overdueScenario = "primary-voice-down"

// drills turns the flow's overdue drills into warning gaps: a plan not
// rehearsed on its cadence may have rotted (people left, endpoints moved)
// without any API showing it, but calls would still be answered, so it
// does not make the flow not ready.
func (c *checker) drills(overdue []OverdueDrill) {
	it := Item{ID: "drills", Title: "Drills of the flow are run on their workbook cadence"}
	index := map[string]int{}
	for i, d := range c.wb.Drills {
		if d.Flow == c.flow.Name {
			it.Checked++
			index[d.Name] = i
		}
	}
	for _, d := range overdue {
		if d.Flow != "" && d.Flow != c.flow.Name {
			continue
		}
		detail := fmt.Sprintf("%s drill %s (%s) has never been run; it was due %s", d.Kind, d.Name, d.Cadence, d.Due.UTC().Format(time.DateOnly))
		if !d.Last.IsZero() {
			detail = fmt.Sprintf("%s drill %s (%s) last ran %s and was due %s", d.Kind, d.Name, d.Cadence,
				d.Last.UTC().Format(time.DateOnly), d.Due.UTC().Format(time.DateOnly))
		}
		c.gap(GapDrillOverdue, SeverityWarning, "", "drill:"+d.Name, detail,
			fmt.Sprintf("run it: voicedr drill --flow %s --kind %s --scenario %s", c.flow.Name, d.Kind, overdueScenario))
		it.Failed++
		if i, ok := index[d.Name]; ok {
			it.Evidence = append(it.Evidence, fmt.Sprintf("workbook#/drills/%d", i))
		} else {
			// A drill the workbook lacks still counts as checked and failed.
			it.Checked++
		}
	}
	c.item(it)
}
