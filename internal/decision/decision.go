package decision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/voicedr/voicedr/internal/store"
)

// Steps of a decision, in order: Twilio's four functions, then execution and
// closing. Rejected and Abandoned end a decision from any open state.
const (
	StepDetection   = "detection"
	StepTechnical   = "technical_assessment"
	StepImpact      = "business_impact"
	StepApproval    = "approval"
	StepExecution   = "execution"
	StepClosed      = "closed"
	StepRejected    = "rejected"
	StepAbandoned   = "abandoned"
	RoleCommander   = "incident_commander"
	SystemActor     = "voicedr"
	listOpenLimit   = 1000
	decisionIDBytes = 8
)

// Order is the steps a decision walks, in order.
var Order = []string{StepDetection, StepTechnical, StepImpact, StepApproval, StepExecution, StepClosed}

// DefaultOwners are the roles that may own each step unless Watcher.Owners
// overrides it. incident_commander may own any step; approval and rejected
// default to the workbook's governance.approval.roles when it names any.
// Detection and technical assessment are computed by voicedr (SystemActor)
// and may also be recorded by the on-call roles.
var DefaultOwners = map[string][]string{
	StepDetection: {RoleCommander, "on_call"},
	StepTechnical: {RoleCommander, "on_call", "technical_lead"},
	StepImpact:    {"business_owner"},
	StepApproval:  {RoleCommander, "business_owner"},
	StepExecution: {RoleCommander, "operator"},
	StepClosed:    {RoleCommander},
	StepRejected:  {RoleCommander, "business_owner"},
	StepAbandoned: {RoleCommander},
}

// Errors Advance classifies.
var (
	ErrAlreadyOpen = errors.New("a decision is already open for this flow")
	ErrOutOfOrder  = errors.New("step out of order")
	ErrForbidden   = errors.New("actor may not own this step")
	ErrClosed      = errors.New("decision is closed")
)

// Step is one recorded step.
type Step struct {
	Name string `json:"name"`
	// OwnerRole is the step's owner role; ActorRole the role the actor
	// holds (SystemActor for computed steps).
	OwnerRole string          `json:"owner_role"`
	At        string          `json:"at"` // RFC 3339, nanoseconds
	Actor     string          `json:"actor"`
	ActorRole string          `json:"actor_role"`
	Note      string          `json:"note,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Body is a decision's store.Decision.Body.
type Body struct {
	Firing Firing `json:"firing"`
	Steps  []Step `json:"steps"`
}

// ReadBody decodes a stored decision's body.
func ReadBody(d store.Decision) (Body, error) {
	var b Body
	if err := json.Unmarshal(d.Body, &b); err != nil {
		return b, fmt.Errorf("decision %s: body: %w", d.ID, err)
	}
	return b, nil
}

// Terminal reports whether a state ends a decision.
func Terminal(state string) bool {
	return state == StepClosed || state == StepRejected || state == StepAbandoned
}

// Open opens a decision for the firing's flow with its detection step. When
// one is already open for the flow it returns that one and ErrAlreadyOpen.
func (w *Watcher) Open(ctx context.Context, f Firing) (store.Decision, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if d, ok, err := w.openFor(ctx, f.Flow); err != nil {
		return store.Decision{}, err
	} else if ok {
		return d, fmt.Errorf("flow %s: %w (%s)", f.Flow, ErrAlreadyOpen, d.ID)
	}
	id, err := newID()
	if err != nil {
		return store.Decision{}, err
	}
	now := w.now().UTC()
	b := Body{Firing: f}
	det, err := w.step(StepDetection, SystemActor, SystemActor, fmt.Sprintf("trigger %s fired: %s %s %v %s for %s", f.Trigger, f.Signal, f.Condition.Op, f.Condition.Value, f.Condition.Unit, f.For), f)
	if err != nil {
		return store.Decision{}, err
	}
	b.Steps = append(b.Steps, det)
	d := store.Decision{ID: id, Flow: f.Flow, Trigger: f.Trigger, State: StepDetection, OpenedAt: now, UpdatedAt: now}
	if d.Body, err = json.Marshal(b); err != nil {
		return store.Decision{}, err
	}
	if err := w.Store.SaveDecision(ctx, d); err != nil {
		return store.Decision{}, fmt.Errorf("save decision: %w", err)
	}
	w.report(ctx, "decision.opened", SystemActor, d, det)
	return d, nil
}

// OpenFor returns the open decision of flow, if any.
func (w *Watcher) OpenFor(ctx context.Context, flow string) (store.Decision, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.openFor(ctx, flow)
}

func (w *Watcher) openFor(ctx context.Context, flow string) (store.Decision, bool, error) {
	ds, err := w.Store.ListDecisions(ctx, listOpenLimit)
	if err != nil {
		return store.Decision{}, false, fmt.Errorf("list decisions: %w", err)
	}
	for _, d := range ds {
		if d.Flow == flow && !Terminal(d.State) {
			return d, true, nil
		}
	}
	return store.Decision{}, false, nil
}

// Advance records step on decision id by actor. The step must be the next
// in Order (or rejected / abandoned, from any open state), and actor must be
// a person of the workbook whose role may own it, or the incident
// commander. A technical assessment recorded this way is computed as Assess
// computes it, with the actor's note and data beside it; a business impact
// carries the computed impact beside the actor's data.
func (w *Watcher) Advance(ctx context.Context, id, step, actor, note string, data any) (store.Decision, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, b, err := w.load(ctx, id)
	if err != nil {
		return d, err
	}
	if err := checkOrder(d.State, step); err != nil {
		return d, err
	}
	role, err := w.authorise(step, actor)
	if err != nil {
		return d, err
	}
	switch step {
	case StepTechnical:
		data = withHuman(w.AssessTechnical(ctx, d.Flow), data)
	case StepImpact:
		data = withHuman(w.AssessImpact(b.Firing), data)
	}
	return w.record(ctx, d, b, step, actor, role, note, data)
}

// Assess computes the technical assessment (standby readiness and plan
// executability) and records it as the technical_assessment step by
// SystemActor; the decision must be at detection.
func (w *Watcher) Assess(ctx context.Context, id string) (store.Decision, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	d, b, err := w.load(ctx, id)
	if err != nil {
		return d, err
	}
	if err := checkOrder(d.State, StepTechnical); err != nil {
		return d, err
	}
	t := w.AssessTechnical(ctx, d.Flow)
	note := "standby ready and failover plan executable"
	if !t.Executable {
		note = "failover plan not executable: " + t.Reason
	}
	return w.record(ctx, d, b, StepTechnical, SystemActor, SystemActor, note, t)
}

// Get returns a decision and its body.
func (w *Watcher) Get(ctx context.Context, id string) (store.Decision, Body, error) {
	return w.load(ctx, id)
}

func (w *Watcher) load(ctx context.Context, id string) (store.Decision, Body, error) {
	d, err := w.Store.GetDecision(ctx, id)
	if err != nil {
		return d, Body{}, fmt.Errorf("decision %s: %w", id, err)
	}
	b, err := ReadBody(d)
	return d, b, err
}

func (w *Watcher) record(ctx context.Context, d store.Decision, b Body, step, actor, role, note string, data any) (store.Decision, error) {
	s, err := w.step(step, actor, role, note, data)
	if err != nil {
		return d, err
	}
	b.Steps = append(b.Steps, s)
	next := d
	next.State, next.UpdatedAt = step, w.now().UTC()
	if next.Body, err = json.Marshal(b); err != nil {
		return d, err
	}
	if err := w.Store.SaveDecision(ctx, next); err != nil {
		return d, fmt.Errorf("save decision %s: %w", d.ID, err)
	}
	w.report(ctx, "decision."+step, actor, next, s)
	return next, nil
}

func (w *Watcher) step(name, actor, role, note string, data any) (Step, error) {
	s := Step{Name: name, OwnerRole: w.owners(name)[0], At: w.now().UTC().Format("2006-01-02T15:04:05.999999999Z07:00"),
		Actor: actor, ActorRole: role, Note: note}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return s, fmt.Errorf("step %s data: %w", name, err)
		}
		s.Data = raw
	}
	return s, nil
}

// checkOrder allows the next step of Order, or ending an open decision.
func checkOrder(state, step string) error {
	if Terminal(state) {
		return fmt.Errorf("%w (%s)", ErrClosed, state)
	}
	if step == StepRejected || step == StepAbandoned {
		return nil
	}
	i := slices.Index(Order, state)
	j := slices.Index(Order, step)
	if j < 0 {
		return fmt.Errorf("%w: unknown step %q: use one of %v, %s or %s", ErrOutOfOrder, step, Order, StepRejected, StepAbandoned)
	}
	if j != i+1 {
		return fmt.Errorf("%w: the decision is at %s, so the next step is %s, not %s", ErrOutOfOrder, state, Order[i+1], step)
	}
	return nil
}

// owners are the roles that may own step.
func (w *Watcher) owners(step string) []string {
	if r, ok := w.Owners[step]; ok && len(r) > 0 {
		return r
	}
	if step == StepApproval || step == StepRejected {
		if r := w.Workbook.Governance.Approval.Roles; len(r) > 0 {
			return r
		}
	}
	if r := DefaultOwners[step]; len(r) > 0 {
		return r
	}
	return []string{RoleCommander}
}

// authorise returns the actor's role when it may own step.
func (w *Watcher) authorise(step, actor string) (string, error) {
	if actor == SystemActor {
		if step == StepDetection || step == StepTechnical {
			return SystemActor, nil
		}
		return "", fmt.Errorf("%w: %s records only computed steps, not %s", ErrForbidden, SystemActor, step)
	}
	owners := w.owners(step)
	var roles []string
	for _, p := range w.Workbook.Governance.People {
		if p.Name != actor {
			continue
		}
		if p.Role == RoleCommander || slices.Contains(owners, p.Role) {
			return p.Role, nil
		}
		roles = append(roles, p.Role)
	}
	if len(roles) == 0 {
		return "", fmt.Errorf("%w: %q is not a person of the workbook's governance", ErrForbidden, actor)
	}
	return "", fmt.Errorf("%w: %s holds %v; %s is owned by %v or %s", ErrForbidden, actor, roles, step, owners, RoleCommander)
}

// report tells Audit and Notify; neither can fail the change.
func (w *Watcher) report(ctx context.Context, kind, actor string, d store.Decision, s Step) {
	if w.Audit != nil {
		if err := w.Audit(ctx, kind, actor, d.ID, s); err != nil {
			w.log().Warn("decision: audit failed", "decision", d.ID, "kind", kind, "err", err)
		}
	}
	if w.Notify != nil {
		w.notify.Add(1)
		go func() {
			defer w.notify.Done()
			w.Notify(kind, d)
		}()
	}
}

// withHuman puts what voicedr computed beside what the actor added.
func withHuman(computed, human any) any {
	if human == nil {
		return computed
	}
	return map[string]any{"computed": computed, "human": human}
}

func newID() (string, error) {
	b := make([]byte, decisionIDBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("decision id: %w", err)
	}
	return "dec_" + hex.EncodeToString(b), nil
}
