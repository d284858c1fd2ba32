package twilioemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/voicedr/voicedr/internal/region"
)

// FaultsVersion is the version of the faults document this emulator reads.
const FaultsVersion = 1

// Faults is the versioned faults document: set at start (--faults FILE) or at
// run time (PUT /__emulator/v1/faults), and embedded by drill scenarios.
// Every field is optional; the zero document means a healthy Twilio.
type Faults struct {
	Version int `json:"version"`
	// Regions lists per region and product outages and degradations.
	Regions []RegionFault `json:"regions,omitempty"`
	// RevokedKeys are API key SIDs that now get 401 / 20003.
	RevokedKeys []string `json:"revoked_keys,omitempty"`
	// PropagationDelay is how long a routing change takes to affect call
	// processing (Twilio: up to five minutes). Default zero.
	PropagationDelay Duration `json:"propagation_delay,omitempty"`
	// ConcurrencyLimit is the account-wide limit of requests in flight above
	// which requests get 429 / 20429. Zero means DefaultConcurrencyLimit;
	// negative means unlimited.
	ConcurrencyLimit int `json:"concurrency_limit,omitempty"`
	// RoutesWritesNeedUS1 makes routing writes through a non-us1 routes host
	// fail with 503 while us1's routes product is down. Twilio does not
	// document which hosts accept routing writes during an outage.
	RoutesWritesNeedUS1 bool `json:"routes_writes_need_us1,omitempty"`
	// UnreachableSIPURLs are origination SIP URLs (the customer's SBCs)
	// that do not answer: trunk calls try the next, then the trunk's
	// disaster_recovery_url.
	UnreachableSIPURLs []string `json:"unreachable_sip_urls,omitempty"`
}

// RegionFault is one region's (and product's) fault.
type RegionFault struct {
	Region string `json:"region"`
	// Product is api, routes, trunking, insights, monitor, voice (call
	// processing) or * for all.
	Product string `json:"product"`
	// Down makes every request fail: "reset" (TCP reset), "blackhole" (held
	// until the client gives up) or "503".
	Down string `json:"down,omitempty"`
	// ErrorRate is the share of requests (0..1) answered 503 when degraded;
	// for product voice, the share of inbound calls that die at the edge
	// (no call record, as when the region is down).
	ErrorRate float64 `json:"error_rate,omitempty"`
	// Latency and Jitter add delay (uniform in [Latency-Jitter, Latency+Jitter]);
	// for product voice, before a call reaches its handler.
	Latency Duration `json:"latency,omitempty"`
	Jitter  Duration `json:"jitter,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("250ms").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"250ms\" or \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

var products = map[string]bool{"api": true, "routes": true, "trunking": true, "insights": true, "monitor": true, "voice": true, "*": true}

// ParseFaults decodes a faults document strictly and validates it.
func ParseFaults(b []byte) (*Faults, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f Faults
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("faults document: %w", err)
	}
	return &f, f.Validate()
}

// Validate names the first field that is out of range and what to write.
func (f *Faults) Validate() error {
	if f.Version != FaultsVersion {
		return fmt.Errorf("faults document: version %d: this emulator reads version %d", f.Version, FaultsVersion)
	}
	for i, rf := range f.Regions {
		if rf.Region != "*" {
			if _, err := region.Parse(rf.Region); err != nil {
				return fmt.Errorf("faults document: regions[%d].region: %w (or *)", i, err)
			}
		}
		if !products[rf.Product] {
			return fmt.Errorf("faults document: regions[%d].product %q: use api, routes, trunking, insights, monitor, voice or *", i, rf.Product)
		}
		switch rf.Down {
		case "", "reset", "blackhole", "503":
		default:
			return fmt.Errorf("faults document: regions[%d].down %q: use reset, blackhole or 503", i, rf.Down)
		}
		if rf.ErrorRate < 0 || rf.ErrorRate > 1 {
			return fmt.Errorf("faults document: regions[%d].error_rate %v: use a share between 0 and 1", i, rf.ErrorRate)
		}
		if rf.Latency < 0 || rf.Jitter < 0 || rf.Jitter > rf.Latency {
			return fmt.Errorf("faults document: regions[%d]: latency and jitter must be >= 0 with jitter <= latency", i)
		}
	}
	if f.PropagationDelay < 0 {
		return fmt.Errorf("faults document: propagation_delay must be >= 0")
	}
	return nil
}

func (f *Faults) concurrencyLimit() int {
	switch {
	case f.ConcurrencyLimit == 0:
		return DefaultConcurrencyLimit
	case f.ConcurrencyLimit < 0:
		return 0
	}
	return f.ConcurrencyLimit
}

func (f *Faults) sipUnreachable(u string) bool {
	for _, x := range f.UnreachableSIPURLs {
		if x == u {
			return true
		}
	}
	return false
}

func (f *Faults) keyRevoked(sid string) bool {
	for _, k := range f.RevokedKeys {
		if k == sid {
			return true
		}
	}
	return false
}

// fault returns the fault for a region and product: an exact product entry
// wins over a * entry.
func (f *Faults) fault(r region.Region, product string) *RegionFault {
	var wild *RegionFault
	for i := range f.Regions {
		rf := &f.Regions[i]
		if rf.Region != string(r) && rf.Region != "*" {
			continue
		}
		if rf.Product == product {
			return rf
		}
		if rf.Product == "*" {
			wild = rf
		}
	}
	return wild
}

// degradedCall decides one inbound call in a region whose voice is
// degraded: whether it dies at the edge, and how long processing waits.
func (f *Faults) degradedCall(r region.Region) (drop bool, delay time.Duration) {
	rf := f.fault(r, "voice")
	if rf == nil {
		return false, 0
	}
	return rf.ErrorRate > 0 && rand.Float64() < rf.ErrorRate, jittered(time.Duration(rf.Latency), time.Duration(rf.Jitter))
}

// Down reports whether a region's product is down (used by call processing).
func (f *Faults) Down(r region.Region, product string) bool {
	rf := f.fault(r, product)
	return rf != nil && rf.Down != ""
}

// applyFaults acts out the fault for the request's region and product. It
// returns handled=true when the request has been answered (or dropped).
func (e *Emulator) applyFaults(w http.ResponseWriter, r *http.Request, f *Faults, h region.HostInfo) (int, bool) {
	if h.Product == "routes" && r.Method == http.MethodPost && f.RoutesWritesNeedUS1 && h.Region != region.US1 && f.Down(region.US1, "routes") {
		writeError(w, errUnavailable())
		return http.StatusServiceUnavailable, true
	}
	rf := f.fault(h.Region, h.Product)
	if rf == nil {
		return 0, false
	}
	switch rf.Down {
	case "reset":
		resetConn(w)
		return 0, true
	case "blackhole":
		select {
		case <-r.Context().Done():
		case <-e.done:
		}
		return 0, true
	case "503":
		writeError(w, errUnavailable())
		return http.StatusServiceUnavailable, true
	}
	if d := jittered(time.Duration(rf.Latency), time.Duration(rf.Jitter)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return 0, true
		}
	}
	if rf.ErrorRate > 0 && rand.Float64() < rf.ErrorRate {
		writeError(w, errUnavailable())
		return http.StatusServiceUnavailable, true
	}
	return 0, false
}

func jittered(d, j time.Duration) time.Duration {
	if j <= 0 {
		return d
	}
	return d - j + time.Duration(rand.Int64N(int64(2*j)+1))
}

// resetConn drops the connection with a TCP reset, as a region whose load
// balancer is gone does.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
