// Package region names Twilio's voice processing regions and their edges, and
// turns a region profile (region, edge, account, credential references) into the
// explicit settings every Twilio client is built with.
//
// Twilio hosts are {product}.{edge}.{region}.twilio.com; the plain
// {product}.twilio.com is us1 through the ashburn edge. The edgeless
// {product}.{region}.twilio.com form was retired on 2026-04-28 and always
// processed in us1 anyway, so nothing here ever builds it.
package region

import (
	"fmt"
	"sort"
	"strings"
)

// Region is a Twilio processing ("home") region ID, lower-case: us1, ie1, au1.
type Region string

// The processing regions that offer Programmable Voice and Elastic SIP Trunking.
const (
	US1 Region = "us1"
	IE1 Region = "ie1"
	AU1 Region = "au1"
)

// All lists the supported processing regions in a stable order.
var All = []Region{US1, IE1, AU1}

// homeEdges maps a region to its default edge. ie1 and au1 only accept their own
// city as edge; us1 also answers through umatilla (and any other edge).
var homeEdges = map[Region]string{US1: "ashburn", IE1: "dublin", AU1: "sydney"}

// Edges Twilio publishes; used to tell an edge from a region in a host name.
var knownEdges = map[string]bool{
	"ashburn": true, "umatilla": true, "dublin": true, "sydney": true, "frankfurt": true,
	"tokyo": true, "singapore": true, "sao-paulo": true, "roaming": true,
	"ashburn-ix": true, "san-jose-ix": true, "london-ix": true, "frankfurt-ix": true,
	"singapore-ix": true, "sydney-ix": true, "tokyo-ix": true,
}

// Parse validates a region ID (case-insensitive) and returns it lower-cased.
func Parse(s string) (Region, error) {
	r := Region(strings.ToLower(strings.TrimSpace(s)))
	if _, ok := homeEdges[r]; !ok {
		return "", fmt.Errorf("unknown region %q: use one of %s", s, strings.Join(Names(), ", "))
	}
	return r, nil
}

// Names returns the region IDs as strings, sorted.
func Names() []string {
	out := make([]string, 0, len(All))
	for _, r := range All {
		out = append(out, string(r))
	}
	sort.Strings(out)
	return out
}

// HomeEdge is the edge a region is reached through by default.
func (r Region) HomeEdge() string { return homeEdges[r] }

// EnvPrefix is the prefix of the region's credential variables: TWILIO_IE1_.
func (r Region) EnvPrefix() string { return "TWILIO_" + strings.ToUpper(string(r)) + "_" }

// ValidEdge reports whether Twilio is known to accept the edge for the region.
// us1 is reachable through every public edge; ie1 and au1 only through their
// home city (a non-home edge with them is unconfirmed and treated as invalid).
func (r Region) ValidEdge(edge string) bool {
	if r == US1 {
		return knownEdges[edge] && edge != "roaming"
	}
	return edge == homeEdges[r]
}

// Host builds the regional FQDN for a product: api.dublin.ie1.twilio.com.
func Host(product string, r Region, edge string) string {
	if edge == "" {
		edge = r.HomeEdge()
	}
	return product + "." + edge + "." + string(r) + ".twilio.com"
}

// HostInfo is what a Twilio host name says about where a request goes.
type HostInfo struct {
	Product string
	Edge    string
	Region  Region
	// Legacy is true for the plain {product}.twilio.com form (us1 via ashburn).
	Legacy bool
	// Retired is true for the edgeless {product}.{region}.twilio.com form,
	// which Twilio always processed in us1 and retired on 2026-04-28.
	Retired bool
}

// ParseHost reads product, edge and region from a Twilio host name (port
// ignored). It fails for hosts that are not under twilio.com.
func ParseHost(host string) (HostInfo, error) {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	if !strings.HasSuffix(h, ".twilio.com") {
		return HostInfo{}, fmt.Errorf("host %q is not a twilio.com host", host)
	}
	pieces := strings.Split(strings.TrimSuffix(h, ".twilio.com"), ".")
	switch len(pieces) {
	case 1:
		return HostInfo{Product: pieces[0], Edge: "ashburn", Region: US1, Legacy: true}, nil
	case 2:
		// product.region.twilio.com (retired) or product.edge.twilio.com.
		if knownEdges[pieces[1]] {
			return HostInfo{Product: pieces[0], Edge: pieces[1], Region: US1}, nil
		}
		return HostInfo{Product: pieces[0], Edge: "ashburn", Region: US1, Retired: true}, nil
	case 3:
		r, err := Parse(pieces[2])
		if err != nil {
			return HostInfo{}, fmt.Errorf("host %q: %w", host, err)
		}
		return HostInfo{Product: pieces[0], Edge: pieces[1], Region: r}, nil
	}
	return HostInfo{}, fmt.Errorf("host %q does not look like {product}.{edge}.{region}.twilio.com", host)
}
