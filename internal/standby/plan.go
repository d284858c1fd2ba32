// Package standby provisions a flow's standby region so that it matches the
// primary: TwiML Apps (by friendly name), SIP domains, Elastic SIP trunks (by
// domain_name) with their origination URLs, disaster-recovery URL and list
// associations, and each number's standby record. It never touches routing:
// moving traffic is the failover plan's job, after readiness is green.
//
// Plan is pure (snapshot + workbook in, actions out) so it can be reviewed
// like a Terraform plan before anything changes; Apply re-reads the standby
// before every create so that re-running it after a crash or a partial run
// converges instead of duplicating resources. Secrets are never copied: a
// list the standby lacks is reported as manual work, not created.
package standby

import (
	"cmp"
	"fmt"
	"github.com/voicedr/voicedr/internal/readiness"
	"time"

	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// Format is the value of Plan.Format for this version of the plan schema.
const Format = "voicedr.standby-plan/v1"

// Action kinds, in the order Apply runs them: later kinds reference what
// earlier ones create (a number names its app, an origination URL its trunk).
const (
	KindApp         = "app"
	KindSIPDomain   = "sip-domain"
	KindTrunk       = "trunk"
	KindOrigination = "origination"
	KindTrunkACL    = "trunk-acl"
	KindTrunkCred   = "trunk-credential-list"
	KindNumber      = "number"
)

// Operations.
const (
	OpCreate = "create"
	OpUpdate = "update"
)

// Plan is the reviewed list of changes to a flow's standby regions.
type Plan struct {
	Format     string    `json:"format"`
	Flow       string    `json:"flow"`
	Primary    string    `json:"primary"`
	Standbys   []string  `json:"standbys"`
	SnapshotAt time.Time `json:"snapshot_taken_at"`
	Actions    []Action  `json:"actions"`
	// Manual lists what the plan cannot do: creating a list needs its
	// secrets, which voicedr never copies.
	Manual []Manual `json:"manual"`
}

// Action is one idempotent change, keyed so that a re-run recognises it.
// Exactly one of the spec fields is set, matching Kind. References to other
// resources are by friendly name or domain and resolved to the standby's own
// SIDs at apply time, because the SIDs of resources the plan creates do not
// exist yet when it is reviewed.
type Action struct {
	Key         string           `json:"key"`
	Op          string           `json:"op"`
	Kind        string           `json:"kind"`
	Region      string           `json:"region"`
	Summary     string           `json:"summary"`
	App         *AppSpec         `json:"app,omitempty"`
	SIPDomain   *SIPDomainSpec   `json:"sip_domain,omitempty"`
	Trunk       *TrunkSpec       `json:"trunk,omitempty"`
	Origination *OriginationSpec `json:"origination,omitempty"`
	Association *AssociationSpec `json:"association,omitempty"`
	Number      *NumberSpec      `json:"number,omitempty"`
}

// AppSpec is a TwiML App's fields; on update only non-empty ones are sent.
type AppSpec struct {
	FriendlyName         string `json:"friendly_name"`
	VoiceURL             string `json:"voice_url,omitempty"`
	VoiceMethod          string `json:"voice_method,omitempty"`
	VoiceFallbackURL     string `json:"voice_fallback_url,omitempty"`
	VoiceFallbackMethod  string `json:"voice_fallback_method,omitempty"`
	StatusCallback       string `json:"status_callback,omitempty"`
	StatusCallbackMethod string `json:"status_callback_method,omitempty"`
}

// SIPDomainSpec is a SIP domain's voice configuration.
type SIPDomainSpec struct {
	DomainName          string `json:"domain_name"`
	FriendlyName        string `json:"friendly_name,omitempty"`
	VoiceURL            string `json:"voice_url,omitempty"`
	VoiceMethod         string `json:"voice_method,omitempty"`
	VoiceFallbackURL    string `json:"voice_fallback_url,omitempty"`
	VoiceFallbackMethod string `json:"voice_fallback_method,omitempty"`
}

// TrunkSpec is a trunk's own fields; on update only non-empty ones are sent.
type TrunkSpec struct {
	DomainName             string `json:"domain_name"`
	FriendlyName           string `json:"friendly_name,omitempty"`
	DisasterRecoveryURL    string `json:"disaster_recovery_url,omitempty"`
	DisasterRecoveryMethod string `json:"disaster_recovery_method,omitempty"`
}

// OriginationSpec is one origination URL of a trunk, copied as declared in
// the primary: the customer must make sure that SBC accepts the standby.
type OriginationSpec struct {
	Trunk        string `json:"trunk"`
	FriendlyName string `json:"friendly_name"`
	SIPURL       string `json:"sip_url"`
	Priority     int    `json:"priority"`
	Weight       int    `json:"weight"`
	Enabled      bool   `json:"enabled"`
}

// AssociationSpec attaches an existing list (by friendly name) to a trunk.
type AssociationSpec struct {
	Trunk string `json:"trunk"`
	List  string `json:"list"`
}

// NumberSpec is a number's standby record: one handler (app, trunk or URLs),
// clearing the handlers that would otherwise take precedence over it.
type NumberSpec struct {
	PhoneNumber          string `json:"phone_number"`
	App                  string `json:"app,omitempty"`   // TwiML App friendly name
	Trunk                string `json:"trunk,omitempty"` // trunk domain_name
	VoiceURL             string `json:"voice_url,omitempty"`
	VoiceMethod          string `json:"voice_method,omitempty"`
	VoiceFallbackURL     string `json:"voice_fallback_url,omitempty"`
	VoiceFallbackMethod  string `json:"voice_fallback_method,omitempty"`
	StatusCallback       string `json:"status_callback,omitempty"`
	StatusCallbackMethod string `json:"status_callback_method,omitempty"`
	ClearApp             bool   `json:"clear_app,omitempty"`
	ClearTrunk           bool   `json:"clear_trunk,omitempty"`
}

// Manual is a gap the plan cannot close, with what a person must do.
type Manual struct {
	Region   string `json:"region"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// Empty reports whether applying p would change nothing.
func (p *Plan) Empty() bool { return len(p.Actions) == 0 }

// Counts returns the number of actions per operation.
func (p *Plan) Counts() (create, update int) {
	for _, a := range p.Actions {
		if a.Op == OpCreate {
			create++
		} else {
			update++
		}
	}
	return create, update
}

// planner holds one Plan's inputs.
type planner struct {
	s       *snapshot.Snapshot
	scope   *readiness.Scope
	flow    *workbook.Flow
	p       *workbook.RegionProfile
	numbers []snapshot.Number
	plan    *Plan
}

// MakePlan computes the actions that make every standby region of flow match
// the primary in s.
func MakePlan(s *snapshot.Snapshot, wb *workbook.Workbook, flow string) (*Plan, error) {
	sc, err := readiness.NewScope(s, wb, flow)
	if err != nil {
		return nil, fmt.Errorf("standby plan: %w", err)
	}
	primary, standbys := sc.Primary, sc.Standbys
	pl := &planner{s: s, scope: sc, flow: sc.Flow, p: primary, plan: &Plan{Format: Format, Flow: flow, Primary: string(primary.Region),
		SnapshotAt: s.TakenAt, Actions: []Action{}, Manual: []Manual{}}}
	for _, i := range sc.Numbers {
		pl.numbers = append(pl.numbers, s.Numbers[i])
	}
	for _, sb := range standbys {
		sr := string(sb.Region)
		pl.plan.Standbys = append(pl.plan.Standbys, sr)
		if s.Resources[sr] == nil {
			// Planning against a region never read would create everything
			// again; refusing is safer than a plan full of duplicates.
			return nil, fmt.Errorf("standby plan: snapshot did not read standby region %s: read it with --regions including %s", sr, sr)
		}
		pl.standby(sb)
	}
	return pl.plan, nil
}

func (pl *planner) add(a Action) { pl.plan.Actions = append(pl.plan.Actions, a) }

func (pl *planner) manual(r, res, what string) {
	pl.plan.Manual = append(pl.plan.Manual, Manual{Region: r, Resource: res, Action: what})
}

func (pl *planner) standby(sb *workbook.RegionProfile) {
	apps, trunks, domains := pl.scope.Apps, pl.scope.Trunks, pl.scope.SIPDomains
	for _, name := range apps {
		pl.app(sb, name)
	}
	for _, d := range domains {
		pl.domain(sb, d)
	}
	for _, d := range trunks {
		pl.trunk(sb, d)
	}
	pl.numbersOf(sb)
}

// standbyURL maps a primary URL to the standby's: the standby region's
// workbook endpoint when the URL is the primary region's (the primary's
// host is what fails in a regional outage), else the URL itself, since the
// workbook does not say where that app runs. Readiness uses the same rule.
func (pl *planner) standbyURL(sb *workbook.RegionProfile, u string) string {
	pa, sa := pl.p.App, sb.App
	for _, m := range [][2]string{{pa.VoiceURL, sa.VoiceURL}, {pa.FallbackURL, sa.FallbackURL}, {pa.StatusCallback, sa.StatusCallback}} {
		if u != "" && u == m[0] && m[1] != "" {
			return m[1]
		}
	}
	return u
}

// ifSet returns method only when its URL is set, so a plan never sends a
// method for a URL it does not set.
func ifSet(url, method string) string {
	if url == "" {
		return ""
	}
	return cmp.Or(method, "POST")
}
