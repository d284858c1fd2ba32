// Package workbook is the DR workbook (voicedr.yaml, kept in git): its schema
// version 1, a strict parser whose errors carry file:line:col, offline
// validation, and the JSON Schema editors use. Checks that need the account
// (selectors that match nothing, cohorts that leave numbers uncovered) are not
// here: they run at plan time against observed state.
//
// The types hold every section the product will use (signals, gates, hooks,
// triggers, drills, attestations) before behaviour exists behind them, so that
// later releases fill behaviour without breaking a workbook written today.
package workbook

import (
	"fmt"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// SchemaVersion is the only workbook version this build reads.
const SchemaVersion = 1

// Struct tags used below: yaml and json name a field (always the same name);
// desc describes it in the JSON Schema; wb:"required" marks a field that must
// be present; enum lists the values a string field accepts.

// Workbook is one voicedr.yaml.
type Workbook struct {
	Version       int                 `yaml:"version" json:"version" wb:"required" desc:"Schema version of this workbook; must be 1."`
	Program       string              `yaml:"program" json:"program" wb:"required" desc:"Name of the DR program, shown on reports and evidence."`
	Regions       []RegionProfile     `yaml:"regions" json:"regions" wb:"required" desc:"Twilio regions in play: exactly one primary and at least one standby."`
	Flows         []Flow              `yaml:"flows" json:"flows" wb:"required" desc:"Protected voice flows."`
	NumberTags    map[string][]string `yaml:"number_tags,omitempty" json:"number_tags,omitempty" desc:"Tags per E.164 number (Twilio has no number tags, so they live here); cohorts and selectors match them."`
	Signals       []Signal            `yaml:"signals,omitempty" json:"signals,omitempty" desc:"Measured values gates and triggers are written over."`
	Gates         []Gate              `yaml:"gates,omitempty" json:"gates,omitempty" desc:"Go/no-go rules over signals, named by cohorts."`
	Governance    Governance          `yaml:"governance,omitempty" json:"governance,omitempty" desc:"Roles, people and the approval policy for a failover."`
	Notifications []Notification      `yaml:"notifications,omitempty" json:"notifications,omitempty" desc:"Where decisions and run progress are announced."`
	Hooks         []Hook              `yaml:"hooks,omitempty" json:"hooks,omitempty" desc:"Steps outside Twilio run around the routing flip."`
	Triggers      []Trigger           `yaml:"triggers,omitempty" json:"triggers,omitempty" desc:"Detection rules that open a failover decision."`
	Drills        []Drill             `yaml:"drills,omitempty" json:"drills,omitempty" desc:"Rehearsal schedule."`
	Attestations  []Attestation       `yaml:"attestations,omitempty" json:"attestations,omitempty" desc:"Checklist items no API can show, attested by a person."`
	Execution     Execution           `yaml:"execution,omitempty" json:"execution,omitempty" desc:"How plans are applied: routing write hosts, proof of each flip, synthetic calls."`
}

// Execution tunes how a plan is applied. Every field has a default, so a
// workbook without this section applies plans as documented.
type Execution struct {
	RoutesWrite     []region.Region `yaml:"routes_write,omitempty" json:"routes_write,omitempty" desc:"Regions whose routes host and credentials write routing, tried in order (Twilio does not document which hosts accept routing writes during an outage); default: the move's target, then the other declared regions."`
	Proof           Proof           `yaml:"proof,omitempty" json:"proof,omitempty" desc:"How each cohort's flip is proven by calls landing in the target region."`
	CallerID        string          `yaml:"caller_id,omitempty" json:"caller_id,omitempty" desc:"E.164 number (owned by the account) synthetic and test calls are placed from; default: the flow's first number."`
	CallsPerSecond  float64         `yaml:"calls_per_second,omitempty" json:"calls_per_second,omitempty" desc:"The account's outbound call rate (CPS) synthetic calls stay within; default 1, Twilio's default."`
	MaxRoutingWrite float64         `yaml:"max_routing_writes_per_second,omitempty" json:"max_routing_writes_per_second,omitempty" desc:"Bound on routing writes per second; default and maximum 250 (Twilio asks bulk routing changes to stay under 300/s)."`
}

// Proof is how a flip is proven: calls to a seeded sample of the cohort's
// numbers land in the target region and none in the old one.
type Proof struct {
	Sample   int      `yaml:"sample,omitempty" json:"sample,omitempty" desc:"Numbers per cohort proven by calls (seeded sample); default 3; 0 uses the default."`
	Wait     Duration `yaml:"wait,omitempty" json:"wait,omitempty" desc:"How long to wait for calls to follow a flip (routing may take up to 5 minutes); default 6m."`
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty" desc:"How often the Calls API is polled while waiting; default 5s."`
}

// Role is a region's part in the program.
type Role string

// Region roles.
const (
	RolePrimary Role = "primary"
	RoleStandby Role = "standby"
)

// RegionProfile is a region.Profile (inline, so the workbook and the CLI
// share one schema) plus its role and the customer app endpoints there.
type RegionProfile struct {
	region.Profile `yaml:",inline"`
	Role           Role         `yaml:"role" json:"role" wb:"required" enum:"primary,standby" desc:"primary carries traffic today; standby is where flows move."`
	App            AppEndpoints `yaml:"app,omitempty" json:"app,omitempty" desc:"The customer app's endpoints in this region, which standby records must point at."`
}

// AppEndpoints are the webhooks a region's number records should carry.
type AppEndpoints struct {
	VoiceURL       string `yaml:"voice_url,omitempty" json:"voice_url,omitempty" desc:"Voice webhook URL (https)."`
	VoiceMethod    string `yaml:"voice_method,omitempty" json:"voice_method,omitempty" enum:"GET,POST" desc:"HTTP method of the voice webhook."`
	FallbackURL    string `yaml:"fallback_url,omitempty" json:"fallback_url,omitempty" desc:"Voice fallback URL, on another host than voice_url."`
	FallbackMethod string `yaml:"fallback_method,omitempty" json:"fallback_method,omitempty" enum:"GET,POST" desc:"HTTP method of the fallback URL."`
	StatusCallback string `yaml:"status_callback,omitempty" json:"status_callback,omitempty" desc:"Call status callback URL."`
	TwiMLApp       string `yaml:"twiml_app,omitempty" json:"twiml_app,omitempty" desc:"TwiML App friendly name (apps are per region, matched by name)."`
	HealthURL      string `yaml:"health_url,omitempty" json:"health_url,omitempty" desc:"The app's health endpoint in this region."`
	ProbeAllowed   bool   `yaml:"probe_allowed,omitempty" json:"probe_allowed,omitempty" desc:"Whether voicedr may send signed probe requests to these URLs (opt-in: they may be production)."`
}

// Criticality ranks flows.
type Criticality string

// Flow is a protected voice flow.
type Flow struct {
	Name           string      `yaml:"name" json:"name" wb:"required" desc:"Flow name, unique in the workbook."`
	Description    string      `yaml:"description,omitempty" json:"description,omitempty" desc:"What the flow is, for people."`
	Numbers        []string    `yaml:"numbers,omitempty" json:"numbers,omitempty" desc:"E.164 numbers in the flow (+ and 2 to 15 digits)."`
	Selectors      Selectors   `yaml:"selectors,omitempty" json:"selectors,omitempty" desc:"Rules adding the account's numbers to the flow; matched at plan time."`
	Trunks         []string    `yaml:"trunks,omitempty" json:"trunks,omitempty" desc:"Elastic SIP trunks by domain_name (x.pstn.twilio.com)."`
	SIPDomains     []string    `yaml:"sip_domains,omitempty" json:"sip_domains,omitempty" desc:"SIP domains by domain name (x.sip.twilio.com)."`
	Criticality    Criticality `yaml:"criticality" json:"criticality" wb:"required" enum:"critical,high,medium,low" desc:"How much the business depends on the flow."`
	MustSurvive    []string    `yaml:"must_survive,omitempty" json:"must_survive,omitempty" desc:"Capabilities that must work in the standby."`
	CanDegrade     []string    `yaml:"can_degrade,omitempty" json:"can_degrade,omitempty" desc:"Capabilities that may run degraded."`
	CanWait        []string    `yaml:"can_wait,omitempty" json:"can_wait,omitempty" desc:"Capabilities that may be down until failback."`
	OutOfScope     []string    `yaml:"out_of_scope,omitempty" json:"out_of_scope,omitempty" desc:"What this program explicitly does not protect."`
	SuccessMetrics []Metric    `yaml:"success_metrics,omitempty" json:"success_metrics,omitempty" desc:"How success of the flow is measured after a move."`
	RTO            Duration    `yaml:"rto" json:"rto" wb:"required" desc:"Recovery time objective (Go duration, e.g. 15m)."`
	Cohorts        []Cohort    `yaml:"cohorts,omitempty" json:"cohorts,omitempty" desc:"Batches numbers move in, in order."`
}

// Selectors add numbers to a flow by what the account says about them.
type Selectors struct {
	FriendlyNamePrefix []string `yaml:"friendly_name_prefix,omitempty" json:"friendly_name_prefix,omitempty" desc:"Numbers whose friendly name starts with one of these."`
	Countries          []string `yaml:"countries,omitempty" json:"countries,omitempty" desc:"E.164 country calling codes such as +44 (not ISO codes: +1 covers several ISO countries)."`
	Tags               []string `yaml:"tags,omitempty" json:"tags,omitempty" desc:"Numbers carrying any of these number_tags."`
}

// Metric is a success metric of a flow.
type Metric struct {
	Name      string    `yaml:"name" json:"name" wb:"required" desc:"Metric name, e.g. answer_rate."`
	Signal    string    `yaml:"signal,omitempty" json:"signal,omitempty" desc:"Signal measuring it, when one is declared."`
	Threshold Threshold `yaml:"threshold" json:"threshold" wb:"required" desc:"Value it must meet."`
	Window    Duration  `yaml:"window,omitempty" json:"window,omitempty" desc:"Window it is measured over (Go duration)."`
}

// Threshold compares a measured value with a bound.
type Threshold struct {
	Op    string  `yaml:"op" json:"op" wb:"required" enum:"<,<=,>,>=,==,!=" desc:"Comparator: the condition holds when value OP bound."`
	Value float64 `yaml:"value" json:"value" wb:"required" desc:"Bound; 0..100 for percent, 0..1 for ratio."`
	Unit  string  `yaml:"unit" json:"unit" wb:"required" enum:"percent,ratio,ms,count,per_minute" desc:"Unit of value; percent and ratio are range-checked."`
}

// Holds reports whether value OP bound holds; an unknown op never holds
// (validation refuses one).
func (t Threshold) Holds(value float64) bool {
	switch t.Op {
	case "<":
		return value < t.Value
	case "<=":
		return value <= t.Value
	case ">":
		return value > t.Value
	case ">=":
		return value >= t.Value
	case "==":
		return value == t.Value
	case "!=":
		return value != t.Value
	}
	return false
}

// NoGo is what a failed gate does.
type NoGo string

// Cohort is a batch of a flow's numbers moved together.
type Cohort struct {
	Name      string   `yaml:"name" json:"name" wb:"required" desc:"Cohort name, unique in the flow."`
	Order     int      `yaml:"order,omitempty" json:"order,omitempty" desc:"Position in the move; lower goes first."`
	Numbers   []string `yaml:"numbers,omitempty" json:"numbers,omitempty" desc:"Explicit E.164 numbers (the drill cohort, test numbers)."`
	Share     *float64 `yaml:"share,omitempty" json:"share,omitempty" desc:"Share 0..1 of the flow's remaining numbers, picked by a hash of E.164 and flow name (deterministic)."`
	Tags      []string `yaml:"tags,omitempty" json:"tags,omitempty" desc:"Numbers carrying any of these tags."`
	Countries []string `yaml:"countries,omitempty" json:"countries,omitempty" desc:"E.164 country calling codes such as +44."`
	Gate      string   `yaml:"gate,omitempty" json:"gate,omitempty" desc:"Gate (from gates) deciding go/no-go after this cohort."`
	NoGo      NoGo     `yaml:"no_go,omitempty" json:"no_go,omitempty" enum:"rollback,pause" desc:"On no-go: roll the cohort back, or pause for a human."`
}

// Signal is a measured value.
type Signal struct {
	Name   string            `yaml:"name" json:"name" wb:"required" desc:"Signal name, unique."`
	Source string            `yaml:"source" json:"source" wb:"required" enum:"calls,alerts,insights,prometheus,synthetic" desc:"Where the value comes from."`
	Region region.Region     `yaml:"region,omitempty" json:"region,omitempty" desc:"Region measured (a declared region); empty means the move's target."`
	Query  string            `yaml:"query,omitempty" json:"query,omitempty" desc:"Source query, e.g. PromQL for prometheus."`
	Params map[string]string `yaml:"params,omitempty" json:"params,omitempty" desc:"Source parameters."`
	Window Duration          `yaml:"window,omitempty" json:"window,omitempty" desc:"Window the value is computed over (Go duration)."`
}

// Gate is a go/no-go rule over signals.
type Gate struct {
	Name         string      `yaml:"name" json:"name" wb:"required" desc:"Gate name, unique."`
	Conditions   []Condition `yaml:"conditions" json:"conditions" wb:"required" desc:"All must hold for go."`
	Window       Duration    `yaml:"window,omitempty" json:"window,omitempty" desc:"How long to observe before deciding (Go duration)."`
	Inconclusive string      `yaml:"inconclusive,omitempty" json:"inconclusive,omitempty" enum:"pause,rollback" desc:"When data is missing: pause for a human (default) or roll back."`
	MinSample    int         `yaml:"min_sample,omitempty" json:"min_sample,omitempty" desc:"Fewest calls a gate decides on; below it more synthetic calls are placed within the account's call rate, then the result is inconclusive; default 1."`
}

// Condition is one signal compared with a threshold.
type Condition struct {
	Signal    string    `yaml:"signal" json:"signal" wb:"required" desc:"Signal name (from signals)."`
	Threshold Threshold `yaml:"threshold" json:"threshold" wb:"required" desc:"Condition for go."`
}

// Governance is who decides and how.
type Governance struct {
	Roles    []GovRole `yaml:"roles,omitempty" json:"roles,omitempty" desc:"Roles in a decision."`
	People   []Person  `yaml:"people,omitempty" json:"people,omitempty" desc:"People and their roles."`
	Approval Approval  `yaml:"approval,omitempty" json:"approval,omitempty" desc:"Who must approve a failover."`
}

// GovRole is a governance role.
type GovRole struct {
	Name        string `yaml:"name" json:"name" wb:"required" desc:"Role name, e.g. incident_commander."`
	Description string `yaml:"description,omitempty" json:"description,omitempty" desc:"What the role decides."`
}

// Person holds a role.
type Person struct {
	Name    string `yaml:"name" json:"name" wb:"required" desc:"Person's name."`
	Role    string `yaml:"role" json:"role" wb:"required" desc:"Role (from governance.roles)."`
	Contact string `yaml:"contact,omitempty" json:"contact,omitempty" desc:"How to reach them (email, phone, Slack handle)."`
}

// Approval is the approval policy.
type Approval struct {
	Policy string   `yaml:"policy,omitempty" json:"policy,omitempty" enum:"none,one_of,two_person" desc:"none, one_of the roles, or two_person (two different people)."`
	Roles  []string `yaml:"roles,omitempty" json:"roles,omitempty" desc:"Roles that may approve."`
}

// Notification is where messages go. Its URL is a reference because a Slack,
// PagerDuty or webhook URL embeds its token: the URL is the secret.
type Notification struct {
	Name string               `yaml:"name" json:"name" wb:"required" desc:"Target name, unique."`
	Type string               `yaml:"type" json:"type" wb:"required" enum:"slack,pagerduty,webhook" desc:"Kind of target."`
	URL  region.CredentialRef `yaml:"url" json:"url" wb:"required" desc:"env:NAME or file:PATH holding the URL (it carries a token, so it is a secret)."`
}

// Hook is a step outside Twilio placed around the flip.
type Hook struct {
	Name       string   `yaml:"name" json:"name" wb:"required" desc:"Hook name, unique."`
	Type       string   `yaml:"type" json:"type" wb:"required" enum:"http,command" desc:"http calls url; command runs command."`
	When       string   `yaml:"when" json:"when" wb:"required" enum:"before_flip,after_flip,before_cohort,after_cohort,after_rollback,after_failback" desc:"When it runs."`
	Flow       string   `yaml:"flow,omitempty" json:"flow,omitempty" desc:"Flow it applies to; empty means every flow."`
	URL        string   `yaml:"url,omitempty" json:"url,omitempty" desc:"For http: an https URL without credentials, or env:NAME / file:PATH when it carries a token."`
	Command    []string `yaml:"command,omitempty" json:"command,omitempty" desc:"For command: argv."`
	Timeout    Duration `yaml:"timeout" json:"timeout" wb:"required" desc:"Time bound (Go duration)."`
	Idempotent bool     `yaml:"idempotent" json:"idempotent" wb:"required" desc:"Must be true: hooks are retried after a crash."`
}

// Trigger opens a decision when its condition holds long enough.
type Trigger struct {
	Name      string    `yaml:"name" json:"name" wb:"required" desc:"Trigger name, unique."`
	Signal    string    `yaml:"signal" json:"signal" wb:"required" desc:"Signal watched (from signals)."`
	Condition Threshold `yaml:"condition" json:"condition" wb:"required" desc:"Condition that means trouble."`
	For       Duration  `yaml:"for" json:"for" wb:"required" desc:"How long it must hold (Go duration)."`
	Flow      string    `yaml:"flow" json:"flow" wb:"required" desc:"Flow a decision is opened for."`
}

// Drill is a scheduled rehearsal.
type Drill struct {
	Name    string `yaml:"name" json:"name" wb:"required" desc:"Drill name, unique."`
	Flow    string `yaml:"flow" json:"flow" wb:"required" desc:"Flow rehearsed."`
	Kind    string `yaml:"kind" json:"kind" wb:"required" enum:"tabletop,live" desc:"tabletop runs against an emulated copy; live moves a real cohort."`
	Cadence string `yaml:"cadence" json:"cadence" wb:"required" enum:"weekly,monthly,quarterly,semiannual,annual" desc:"How often."`
	Cohort  string `yaml:"cohort,omitempty" json:"cohort,omitempty" desc:"Cohort of the flow a live drill moves."`
}

// Attestation is a checklist item a person vouches for.
type Attestation struct {
	ID          string `yaml:"id" json:"id" wb:"required" desc:"Stable identifier, unique."`
	Item        string `yaml:"item" json:"item" wb:"required" desc:"What is attested (geo permissions, CPS, carrier capacity...)."`
	Region      string `yaml:"region,omitempty" json:"region,omitempty" desc:"Region it concerns, if any."`
	Owner       string `yaml:"owner" json:"owner" wb:"required" desc:"Who attests it."`
	EvidenceURL string `yaml:"evidence_url,omitempty" json:"evidence_url,omitempty" desc:"Link to the evidence."`
	Date        string `yaml:"date" json:"date" wb:"required" desc:"Date attested (YYYY-MM-DD)."`
	Expires     string `yaml:"expires" json:"expires" wb:"required" desc:"Date it must be re-attested (YYYY-MM-DD); expired items are readiness gaps."`
}

// Duration is a Go duration written as a string ("90s", "15m").
type Duration time.Duration

// String formats the duration as Go does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as a string, so JSON and YAML round-trip.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration", b)
	}
	*d = Duration(v)
	return nil
}
