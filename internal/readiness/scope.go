package readiness

import (
	"fmt"
	"sort"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Scope is one workbook flow within a snapshot: its primary and standby
// regions, its numbers, and what it relies on in the primary. Readiness
// judges a scope and standby provisioning closes its gaps, so both compute
// it here, the same way.
type Scope struct {
	Flow     *workbook.Flow
	Primary  *workbook.RegionProfile
	Standbys []*workbook.RegionProfile
	// Numbers are indexes into the snapshot's numbers.
	Numbers []int
	// Apps and Trunks are those the flow's numbers use in the primary (plus
	// the trunks the workbook lists), SIPDomains those it lists; sorted.
	Apps, Trunks, SIPDomains []string
}

// NewScope resolves flow in s against wb.
func NewScope(s *snapshot.Snapshot, wb *workbook.Workbook, flow string) (*Scope, error) {
	if s == nil || wb == nil {
		return nil, fmt.Errorf("snapshot and workbook are required")
	}
	sc := &Scope{}
	var names []string
	for i := range wb.Flows {
		names = append(names, wb.Flows[i].Name)
		if wb.Flows[i].Name == flow {
			sc.Flow = &wb.Flows[i]
		}
	}
	if sc.Flow == nil {
		return nil, fmt.Errorf("flow %q is not in the workbook (flows: %v)", flow, names)
	}
	for i := range wb.Regions {
		switch rp := &wb.Regions[i]; rp.Role {
		case workbook.RolePrimary:
			sc.Primary = rp
		case workbook.RoleStandby:
			sc.Standbys = append(sc.Standbys, rp)
		}
	}
	if sc.Primary == nil || len(sc.Standbys) == 0 {
		return nil, fmt.Errorf("the workbook needs one primary and at least one standby region")
	}
	pr := string(sc.Primary.Region)
	if s.Resources[pr] == nil {
		return nil, fmt.Errorf("snapshot holds no resources of primary region %s: read it with --regions including %s", pr, pr)
	}
	seenA, seenT := map[string]bool{}, map[string]bool{}
	for i, n := range s.Numbers {
		if name, ok := wb.FlowOf(n); !ok || name != flow {
			continue
		}
		sc.Numbers = append(sc.Numbers, i)
		h := posture.Effective(n.Records[pr], s.Resources[pr])
		switch {
		case h.Kind == "app" && !seenA[h.AppName]:
			seenA[h.AppName] = true
			sc.Apps = append(sc.Apps, h.AppName)
		case h.Kind == "trunk" && !seenT[h.TrunkDomain]:
			seenT[h.TrunkDomain] = true
			sc.Trunks = append(sc.Trunks, h.TrunkDomain)
		}
	}
	for _, t := range sc.Flow.Trunks {
		if !seenT[t] {
			seenT[t] = true
			sc.Trunks = append(sc.Trunks, t)
		}
	}
	sc.SIPDomains = append(sc.SIPDomains, sc.Flow.SIPDomains...)
	sort.Strings(sc.Apps)
	sort.Strings(sc.Trunks)
	sort.Strings(sc.SIPDomains)
	return sc, nil
}
