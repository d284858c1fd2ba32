package standby

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	trunkingv1 "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/voicedr/voicedr/internal/twilio"
)

// regionState is what Apply knows of one standby region: name → SID maps
// read from the region when Apply starts (not from the plan's snapshot,
// which may predate a partial apply), kept current as it creates.
type regionState struct {
	c                   *twilio.Client
	apps, trunks        map[string]string // friendly name / domain_name → SID
	domains             map[string]string // SIP domain name → SID
	acls, creds         map[string]string // list friendly name → SID
	numbers             map[string]string // E.164 → this region's SID
	origins             map[string]map[string]string
	attachedACL, attCrd map[string]map[string]bool
}

func readRegion(ctx context.Context, c *twilio.Client) (*regionState, error) {
	rs := &regionState{c: c, apps: map[string]string{}, trunks: map[string]string{}, domains: map[string]string{},
		acls: map[string]string{}, creds: map[string]string{}, numbers: map[string]string{},
		origins: map[string]map[string]string{}, attachedACL: map[string]map[string]bool{}, attCrd: map[string]map[string]bool{}}
	api := c.API(ctx)
	apps, err := api.ListApplication(new(apiv2010.ListApplicationParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListApplication", err)
	}
	for _, a := range apps {
		rs.apps[str(a.FriendlyName)] = str(a.Sid)
	}
	domains, err := api.ListSipDomain(new(apiv2010.ListSipDomainParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListSipDomain", err)
	}
	for _, d := range domains {
		rs.domains[str(d.DomainName)] = str(d.Sid)
	}
	acls, err := api.ListSipIpAccessControlList(new(apiv2010.ListSipIpAccessControlListParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListSipIpAccessControlList", err)
	}
	for _, l := range acls {
		rs.acls[str(l.FriendlyName)] = str(l.Sid)
	}
	creds, err := api.ListSipCredentialList(new(apiv2010.ListSipCredentialListParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListSipCredentialList", err)
	}
	for _, l := range creds {
		rs.creds[str(l.FriendlyName)] = str(l.Sid)
	}
	trunks, err := c.Trunking(ctx).ListTrunk(new(trunkingv1.ListTrunkParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListTrunk", err)
	}
	for _, t := range trunks {
		rs.trunks[str(t.DomainName)] = str(t.Sid)
	}
	// Numbers are owned globally but each region has its own SID for them.
	nums, err := api.ListIncomingPhoneNumber(new(apiv2010.ListIncomingPhoneNumberParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListIncomingPhoneNumber", err)
	}
	for _, n := range nums {
		rs.numbers[str(n.PhoneNumber)] = str(n.Sid)
	}
	return rs, nil
}

// originations lists a trunk's origination URLs (SIP URL → SID) once.
func (rs *regionState) originations(ctx context.Context, trunkSID string) (map[string]string, error) {
	if m, ok := rs.origins[trunkSID]; ok {
		return m, nil
	}
	ous, err := rs.c.Trunking(ctx).ListOriginationUrl(trunkSID, new(trunkingv1.ListOriginationUrlParams).SetPageSize(1000))
	if err != nil {
		return nil, rs.c.Classify("ListOriginationUrl", err)
	}
	m := map[string]string{}
	for _, o := range ous {
		m[str(o.SipUrl)] = str(o.Sid)
	}
	rs.origins[trunkSID] = m
	return m, nil
}

// attached lists the list SIDs associated with a trunk, per kind, once.
func (rs *regionState) attached(ctx context.Context, kind, trunkSID string) (map[string]bool, error) {
	cache := rs.attCrd
	if kind == KindTrunkACL {
		cache = rs.attachedACL
	}
	if m, ok := cache[trunkSID]; ok {
		return m, nil
	}
	m := map[string]bool{}
	tr := rs.c.Trunking(ctx)
	if kind == KindTrunkACL {
		ls, err := tr.ListIpAccessControlList(trunkSID, new(trunkingv1.ListIpAccessControlListParams).SetPageSize(1000))
		if err != nil {
			return nil, rs.c.Classify("ListIpAccessControlList", err)
		}
		for _, l := range ls {
			m[str(l.Sid)] = true
		}
	} else {
		ls, err := tr.ListCredentialList(trunkSID, new(trunkingv1.ListCredentialListParams).SetPageSize(1000))
		if err != nil {
			return nil, rs.c.Classify("ListCredentialList", err)
		}
		for _, l := range ls {
			m[str(l.Sid)] = true
		}
	}
	cache[trunkSID] = m
	return m, nil
}

// WriteSummary prints p the way terraform plan does: one line per action
// (+ create, ~ update), the counts, then what needs a person.
func (p *Plan) WriteSummary(w io.Writer) error {
	fmt.Fprintf(w, "Standby plan for flow %s: primary %s → standby %v (snapshot taken %s)\n\n", p.Flow, p.Primary, p.Standbys,
		p.SnapshotAt.UTC().Format("2006-01-02T15:04:05Z"))
	for _, a := range p.Actions {
		mark := "~"
		if a.Op == OpCreate {
			mark = "+"
		}
		fmt.Fprintf(w, "  %s %-60s %s\n", mark, a.Key, a.Summary)
	}
	create, update := p.Counts()
	if p.Empty() {
		fmt.Fprintln(w, "No changes. The standby matches the primary for this flow.")
	} else {
		fmt.Fprintf(w, "\nPlan: %d to create, %d to update, 0 to destroy. Routing is never changed.\n", create, update)
	}
	if len(p.Manual) > 0 {
		fmt.Fprintf(w, "\nNeeds manual action (%d):\n", len(p.Manual))
		ms := append([]Manual(nil), p.Manual...)
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].Region+ms[i].Resource < ms[j].Region+ms[j].Resource })
		for _, m := range ms {
			fmt.Fprintf(w, "  ! %s %s: %s\n", m.Region, m.Resource, m.Action)
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

// Write encodes p as indented JSON, the file `standby apply --plan` reads.
func (p *Plan) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// ReadPlan decodes a plan strictly: an unknown field means another version.
func ReadPlan(r io.Reader) (*Plan, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode standby plan: %w", err)
	}
	if p.Format != Format {
		return nil, fmt.Errorf("standby plan format %q: want %q (plan again with this version)", p.Format, Format)
	}
	return &p, nil
}
