package twilioemu

import (
	"encoding/hex"
	"math/rand/v2"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
)

// account is the whole emulated account: global number ownership and routing,
// and every region's own resources. It is guarded by Emulator.mu.
type account struct {
	sid     string
	name    string
	created time.Time
	// numbers keeps ownership order; listing pages walk it.
	numbers []*number
	byE164  map[string]*number
	// routes is the one global routing table: numbers, trunks and SIP domains.
	routes  map[routeKey]*routeEntry
	regions map[region.Region]*regionState
	rng     *rand.Rand
	// sharedSIDs makes a number's SID the same in every region.
	sharedSIDs bool
}

// number is a globally owned phone number and its per-region records.
type number struct {
	e164         string
	friendlyName string
	capabilities snapshot.Capabilities
	created      time.Time
	records      map[region.Region]*numberRecord
}

// numberRecord is one region's configuration record of a number.
type numberRecord struct {
	sid                  string
	friendlyName         string
	voiceURL             string
	voiceMethod          string
	voiceFallbackURL     string
	voiceFallbackMethod  string
	statusCallback       string
	statusCallbackMethod string
	voiceApplicationSID  string
	trunkSID             string
	voiceReceiveMode     string
	voiceCallerIDLookup  bool
	smsURL               string
	smsMethod            string
	smsFallbackURL       string
	smsFallbackMethod    string
	smsApplicationSID    string
	created, updated     time.Time
}

type routeKind int

const (
	routeNumber routeKind = iota
	routeTrunk
	routeSIPDomain
)

type routeKey struct {
	kind routeKind
	key  string // E.164, trunk domain or SIP domain
}

// routeEntry is an explicit routing configuration. A write takes effect after
// the propagation delay: until effectiveAt, calls still go to previous.
type routeEntry struct {
	sid          string
	friendlyName string
	region       region.Region
	previous     region.Region
	effectiveAt  time.Time
	created      time.Time
	updated      time.Time
}

// regionState is what one region holds on its own.
type regionState struct {
	id         region.Region
	accountSID string
	authToken  string
	keys       table[*apiKey]
	apps       table[*application]
	domains    table[*sipDomain]
	credLists  table[*namedList]
	ipACLs     table[*namedList]
	trunks     table[*trunk]
	calls      table[*callRecord]
	alerts     table[*alert]
	summaries  map[string]*callSummary // by CallSid
	// summaryOrder keeps summaries in the order they appeared.
	summaryOrder []string
	numberSIDs   map[string]*number
	// advancedInsights gates Voice Insights summaries (17007 when off).
	advancedInsights bool
}

func newRegionState(id region.Region, accountSID string) *regionState {
	return &regionState{
		id: id, accountSID: accountSID,
		keys: newTable[*apiKey](), apps: newTable[*application](), domains: newTable[*sipDomain](),
		credLists: newTable[*namedList](), ipACLs: newTable[*namedList](), trunks: newTable[*trunk](),
		calls: newTable[*callRecord](), alerts: newTable[*alert](),
		summaries: map[string]*callSummary{}, numberSIDs: map[string]*number{},
		advancedInsights: true,
	}
}

// table is an insertion-ordered map from SID to resource: lists page in
// creation order, fetches are O(1).
type table[T any] struct {
	order []string
	bySID map[string]T
}

func newTable[T any]() table[T] { return table[T]{bySID: map[string]T{}} }

func (t *table[T]) put(sid string, v T) {
	if _, ok := t.bySID[sid]; !ok {
		t.order = append(t.order, sid)
	}
	t.bySID[sid] = v
}

func (t *table[T]) get(sid string) (T, bool) { v, ok := t.bySID[sid]; return v, ok }

func (t *table[T]) del(sid string) bool {
	if _, ok := t.bySID[sid]; !ok {
		return false
	}
	delete(t.bySID, sid)
	for i, s := range t.order {
		if s == sid {
			t.order = append(t.order[:i], t.order[i+1:]...)
			break
		}
	}
	return true
}

func (t *table[T]) len() int { return len(t.order) }

// at returns the i-th resource in creation order.
func (t *table[T]) at(i int) T { return t.bySID[t.order[i]] }

// newSID mints a Twilio SID: two-letter prefix and 32 lower-case hex digits.
func (a *account) newSID(prefix string) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := a.rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return prefix + hex.EncodeToString(b[:])
}

// newSecret mints an alphanumeric secret (twilio-go refuses other characters).
func (a *account) newSecret() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(a.rng.Uint32())
	}
	return hex.EncodeToString(b[:])
}

func newAccount(sid string, seed uint64, now time.Time, regions []region.Region) *account {
	a := &account{
		sid: sid, name: "voicedr emulated account", created: now,
		byE164: map[string]*number{}, routes: map[routeKey]*routeEntry{},
		regions: map[region.Region]*regionState{},
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	if a.sid == "" {
		a.sid = a.newSID("AC")
	}
	for _, r := range regions {
		a.regions[r] = newRegionState(r, a.sid)
	}
	return a
}

// addNumber makes a number owned and gives every region an empty record.
func (a *account) addNumber(e164, friendly string, caps snapshot.Capabilities, now time.Time) *number {
	n := &number{e164: e164, friendlyName: friendly, capabilities: caps, created: now, records: map[region.Region]*numberRecord{}}
	shared := ""
	if a.sharedSIDs {
		shared = a.newSID("PN")
	}
	for id, rs := range a.regions {
		sid := shared
		if sid == "" {
			sid = a.newSID("PN")
		}
		n.records[id] = &numberRecord{
			sid: sid, friendlyName: friendly, voiceMethod: "POST", voiceFallbackMethod: "POST",
			statusCallbackMethod: "POST", smsMethod: "POST", smsFallbackMethod: "POST",
			voiceReceiveMode: "voice", created: now, updated: now,
		}
		rs.numberSIDs[sid] = n
	}
	a.numbers = append(a.numbers, n)
	a.byE164[e164] = n
	return n
}

// releaseNumber removes a number from the account in every region, with its
// routing: ownership is global.
func (a *account) releaseNumber(n *number) {
	for id, rec := range n.records {
		delete(a.regions[id].numberSIDs, rec.sid)
	}
	delete(a.byE164, n.e164)
	delete(a.routes, routeKey{routeNumber, n.e164})
	for i, m := range a.numbers {
		if m == n {
			a.numbers = append(a.numbers[:i], a.numbers[i+1:]...)
			break
		}
	}
}

// effectiveRegion is where inbound calls for a routing key are processed at
// now: an explicit entry after its propagation delay, else us1.
func (a *account) effectiveRegion(k routeKey, now time.Time) region.Region {
	e, ok := a.routes[k]
	if !ok {
		return region.US1
	}
	if now.Before(e.effectiveAt) {
		return e.previous
	}
	return e.region
}

// setRoute writes a routing entry; it takes effect after delay.
func (a *account) setRoute(k routeKey, r region.Region, friendly *string, now time.Time, delay time.Duration) *routeEntry {
	e, ok := a.routes[k]
	if !ok {
		e = &routeEntry{sid: a.newSID("QQ"), created: now, region: region.US1}
		a.routes[k] = e
	}
	if r != "" && r != e.region {
		e.previous = a.effectiveRegion(k, now)
		e.region = r
		e.effectiveAt = now.Add(delay)
	}
	if friendly != nil {
		e.friendlyName = *friendly
	}
	e.updated = now
	return e
}
