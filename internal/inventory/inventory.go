// Package inventory reads a whole Twilio account, in every configured region,
// into an account snapshot: each number with every region's record and its
// routing, and each region's TwiML Apps, trunks (origination URLs, ACL and
// credential list associations, DR URL), SIP domains and lists, plus trunk
// and SIP-domain routing. Posture, readiness, standby provisioning and plans
// all start from this observed state, and the snapshot it writes is the
// emulator's seed format, so a real account can seed a tabletop drill.
//
// The request budget is what the benchmark holds it to: per region
// ceil(N/1000) number pages and a handful of resource lists, plus one routes
// fetch per number (Routes has no list), each trunk and each SIP domain,
// under the client pool's shared rate and concurrency limits.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	trunkingv1 "github.com/twilio/twilio-go/rest/trunking/v1"
	"golang.org/x/sync/errgroup"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilio"
)

// Options tune Read.
type Options struct {
	// RoutesRegion is the region whose routes host reads the (global)
	// routing table; default the first client's region.
	RoutesRegion region.Region
	// Concurrency bounds routes fetches in flight (default 32); the pool's
	// own limits still apply on top.
	Concurrency int
	// Now stamps the snapshot (default time.Now).
	Now func() time.Time
}

// Read takes a snapshot of the account through the clients of set.
func Read(ctx context.Context, set *twilio.Set, opts Options) (*snapshot.Snapshot, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	clients := set.Clients()
	if len(clients) == 0 {
		return nil, errors.New("inventory: no region profiles to read")
	}
	s := &snapshot.Snapshot{Format: snapshot.Format, TakenAt: opts.Now().UTC(), AccountSID: clients[0].AccountSID(),
		Resources: map[string]*snapshot.RegionResources{}}
	records := make([]map[string]regionNumber, len(clients))
	resources := make([]*snapshot.RegionResources, len(clients))
	eg, gctx := errgroup.WithContext(ctx)
	for i, c := range clients {
		s.Regions = append(s.Regions, string(c.Region()))
		eg.Go(func() (err error) {
			if records[i], err = readNumbers(gctx, c); err != nil {
				return err
			}
			resources[i], err = readResources(gctx, c)
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	byE164 := map[string]*snapshot.Number{}
	var order []string
	for i, c := range clients {
		s.Resources[string(c.Region())] = resources[i]
		for e164, rn := range records[i] {
			n, ok := byE164[e164]
			if !ok {
				n = &snapshot.Number{PhoneNumber: e164, FriendlyName: rn.friendly, Capabilities: rn.caps, Records: map[string]*snapshot.NumberRecord{}}
				byE164[e164] = n
				order = append(order, e164)
			}
			n.Records[string(c.Region())] = rn.rec
		}
	}
	sort.Strings(order)
	routes, err := set.Get(opts.RoutesRegion)
	if opts.RoutesRegion == "" {
		routes, err = clients[0], nil
	}
	if err != nil {
		return nil, err
	}
	if err := readRouting(ctx, routes, opts.Concurrency, order, byE164, s); err != nil {
		return nil, err
	}
	for _, e := range order {
		s.Numbers = append(s.Numbers, *byE164[e])
	}
	return s, nil
}

// regionNumber is one region's view of a number.
type regionNumber struct {
	friendly string
	caps     *snapshot.Capabilities
	rec      *snapshot.NumberRecord
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func readNumbers(ctx context.Context, c *twilio.Client) (map[string]regionNumber, error) {
	nums, err := c.API(ctx).ListIncomingPhoneNumber(new(apiv2010.ListIncomingPhoneNumberParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListIncomingPhoneNumber", err)
	}
	out := make(map[string]regionNumber, len(nums))
	for _, n := range nums {
		rn := regionNumber{friendly: str(n.FriendlyName), rec: &snapshot.NumberRecord{
			SID: str(n.Sid), FriendlyName: str(n.FriendlyName), VoiceURL: str(n.VoiceUrl), VoiceMethod: str(n.VoiceMethod),
			VoiceFallbackURL: str(n.VoiceFallbackUrl), VoiceFallbackMethod: str(n.VoiceFallbackMethod),
			StatusCallback: str(n.StatusCallback), StatusCallbackMethod: str(n.StatusCallbackMethod),
			VoiceApplicationSID: str(n.VoiceApplicationSid), TrunkSID: str(n.TrunkSid), VoiceReceiveMode: str(n.VoiceReceiveMode),
		}}
		if n.Capabilities != nil {
			rn.caps = &snapshot.Capabilities{Voice: n.Capabilities.Voice, SMS: n.Capabilities.Sms, MMS: n.Capabilities.Mms, Fax: n.Capabilities.Fax}
		}
		out[str(n.PhoneNumber)] = rn
	}
	return out, nil
}

func readResources(ctx context.Context, c *twilio.Client) (*snapshot.RegionResources, error) {
	res := &snapshot.RegionResources{}
	api := c.API(ctx)
	apps, err := api.ListApplication(new(apiv2010.ListApplicationParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListApplication", err)
	}
	for _, a := range apps {
		res.Applications = append(res.Applications, snapshot.Application{SID: str(a.Sid), FriendlyName: str(a.FriendlyName),
			VoiceURL: str(a.VoiceUrl), VoiceMethod: str(a.VoiceMethod), VoiceFallbackURL: str(a.VoiceFallbackUrl),
			VoiceFallbackMethod: str(a.VoiceFallbackMethod), StatusCallback: str(a.StatusCallback), StatusCallbackMethod: str(a.StatusCallbackMethod)})
	}
	domains, err := api.ListSipDomain(new(apiv2010.ListSipDomainParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListSipDomain", err)
	}
	for _, d := range domains {
		res.SIPDomains = append(res.SIPDomains, snapshot.SIPDomain{SID: str(d.Sid), FriendlyName: str(d.FriendlyName),
			DomainName: str(d.DomainName), VoiceURL: str(d.VoiceUrl), VoiceMethod: str(d.VoiceMethod),
			VoiceFallbackURL: str(d.VoiceFallbackUrl), VoiceFallbackMethod: str(d.VoiceFallbackMethod),
			SIPRegistration: d.SipRegistration != nil && *d.SipRegistration})
	}
	creds, err := api.ListSipCredentialList(new(apiv2010.ListSipCredentialListParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListSipCredentialList", err)
	}
	for _, l := range creds {
		res.CredentialLists = append(res.CredentialLists, snapshot.NamedList{SID: str(l.Sid), FriendlyName: str(l.FriendlyName)})
	}
	acls, err := api.ListSipIpAccessControlList(new(apiv2010.ListSipIpAccessControlListParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListSipIpAccessControlList", err)
	}
	for _, l := range acls {
		res.IPAccessControlLists = append(res.IPAccessControlLists, snapshot.NamedList{SID: str(l.Sid), FriendlyName: str(l.FriendlyName)})
	}
	trunks, err := readTrunks(ctx, c)
	res.Trunks = trunks
	return res, err
}

func readTrunks(ctx context.Context, c *twilio.Client) ([]snapshot.Trunk, error) {
	tr := c.Trunking(ctx)
	trunks, err := tr.ListTrunk(new(trunkingv1.ListTrunkParams).SetPageSize(1000))
	if err != nil {
		return nil, c.Classify("ListTrunk", err)
	}
	var out []snapshot.Trunk
	for _, t := range trunks {
		sid := str(t.Sid)
		st := snapshot.Trunk{SID: sid, FriendlyName: str(t.FriendlyName), DomainName: str(t.DomainName),
			DisasterRecoveryURL: str(t.DisasterRecoveryUrl), DisasterRecoveryMethod: str(t.DisasterRecoveryMethod)}
		ous, err := tr.ListOriginationUrl(sid, new(trunkingv1.ListOriginationUrlParams).SetPageSize(1000))
		if err != nil {
			return nil, c.Classify("ListOriginationUrl", err)
		}
		for _, o := range ous {
			st.OriginationURLs = append(st.OriginationURLs, snapshot.OriginationURL{SID: str(o.Sid), FriendlyName: str(o.FriendlyName),
				SIPURL: str(o.SipUrl), Priority: o.Priority, Weight: o.Weight, Enabled: o.Enabled != nil && *o.Enabled})
		}
		acls, err := tr.ListIpAccessControlList(sid, new(trunkingv1.ListIpAccessControlListParams).SetPageSize(1000))
		if err != nil {
			return nil, c.Classify("ListIpAccessControlList", err)
		}
		for _, a := range acls {
			st.IPAccessControlLists = append(st.IPAccessControlLists, str(a.Sid))
		}
		creds, err := tr.ListCredentialList(sid, new(trunkingv1.ListCredentialListParams).SetPageSize(1000))
		if err != nil {
			return nil, c.Classify("ListCredentialList", err)
		}
		for _, l := range creds {
			st.CredentialLists = append(st.CredentialLists, str(l.Sid))
		}
		out = append(out, st)
	}
	return out, nil
}

// readRouting fetches every number's, trunk's and SIP domain's routing. A
// 404 means never set, so us1 (recorded as not explicit).
func readRouting(ctx context.Context, c *twilio.Client, limit int, order []string, byE164 map[string]*snapshot.Number, s *snapshot.Snapshot) error {
	var mu sync.Mutex
	eg, ctx := errgroup.WithContext(ctx)
	eg.SetLimit(limit)
	set := func(dst *snapshot.Route, voiceRegion *string, err error, op string) error {
		err = c.Classify(op, err)
		r := snapshot.Route{VoiceRegion: string(region.US1)}
		switch {
		case errors.Is(err, twilio.KindNotFound):
		case err != nil:
			return err
		case voiceRegion != nil:
			r = snapshot.Route{VoiceRegion: strings.ToLower(*voiceRegion), Explicit: true}
		}
		mu.Lock()
		dst.VoiceRegion, dst.Explicit = r.VoiceRegion, r.Explicit
		mu.Unlock()
		return nil
	}
	for _, e := range order {
		n := byE164[e]
		eg.Go(func() error {
			r, err := c.Routes(ctx).FetchPhoneNumber(n.PhoneNumber)
			var vr *string
			if r != nil {
				vr = r.VoiceRegion
			}
			return set(&n.Routing, vr, err, "FetchPhoneNumber")
		})
	}
	trunkDomains, sipDomains := map[string]bool{}, map[string]bool{}
	for _, res := range s.Resources {
		for _, t := range res.Trunks {
			trunkDomains[t.DomainName] = true
		}
		for _, d := range res.SIPDomains {
			sipDomains[d.DomainName] = true
		}
	}
	s.TrunkRouting = make([]snapshot.Route, 0, len(trunkDomains))
	for _, d := range sortedKeys(trunkDomains) {
		s.TrunkRouting = append(s.TrunkRouting, snapshot.Route{Key: d})
	}
	s.SIPDomainRouting = make([]snapshot.Route, 0, len(sipDomains))
	for _, d := range sortedKeys(sipDomains) {
		s.SIPDomainRouting = append(s.SIPDomainRouting, snapshot.Route{Key: d})
	}
	for i := range s.TrunkRouting {
		rt := &s.TrunkRouting[i]
		eg.Go(func() error {
			r, err := c.Routes(ctx).FetchTrunks(rt.Key)
			var vr *string
			if r != nil {
				vr = r.VoiceRegion
			}
			return set(rt, vr, err, "FetchTrunks")
		})
	}
	for i := range s.SIPDomainRouting {
		rt := &s.SIPDomainRouting[i]
		eg.Go(func() error {
			r, err := c.Routes(ctx).FetchSipDomain(rt.Key)
			var vr *string
			if r != nil {
				vr = r.VoiceRegion
			}
			return set(rt, vr, err, "FetchSipDomain")
		})
	}
	if err := eg.Wait(); err != nil {
		return fmt.Errorf("read routing: %w", err)
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
