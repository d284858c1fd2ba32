package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/twilio/twilio-go/client"
	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"
	insightsv1 "github.com/twilio/twilio-go/rest/insights/v1"
	monitorv1 "github.com/twilio/twilio-go/rest/monitor/v1"
	routesv2 "github.com/twilio/twilio-go/rest/routes/v2"
	trunkingv1 "github.com/twilio/twilio-go/rest/trunking/v1"

	"github.com/voicedr/voicedr/internal/region"
)

// Client reaches one region of one account: its edge, its credentials and the
// shared Pool. It is safe for concurrent use; its services are built per call
// and carry the caller's context, so use each one for the call at hand:
//
//	n, err := c.API(ctx).FetchIncomingPhoneNumber(sid, nil)
//	err = c.Classify("FetchIncomingPhoneNumber", err)
type Client struct {
	region     region.Region
	edge       string
	accountSID string
	// user and pass are the Basic auth pair: key SID and secret, or
	// account SID and auth token.
	user      string
	pass      region.Secret
	authToken region.Secret
	pool      *Pool
}

// NewRegionClient builds the client of the region p describes, sending
// through pool. It authenticates with the API key when p has one, otherwise
// with the account SID and auth token.
func NewRegionClient(p region.Resolved, pool *Pool) (*Client, error) {
	if pool == nil {
		return nil, errors.New("twilio client: no pool")
	}
	r := p.Region()
	if _, err := region.Parse(string(r)); err != nil {
		return nil, fmt.Errorf("twilio client: %w", err)
	}
	if !r.ValidEdge(p.Edge()) {
		return nil, fmt.Errorf("twilio client: edge %q is not valid for %s", p.Edge(), r)
	}
	if p.AccountSID() == "" {
		return nil, fmt.Errorf("twilio client %s: no account SID", r)
	}
	c := &Client{region: r, edge: p.Edge(), accountSID: p.AccountSID(), authToken: p.AuthToken, pool: pool}
	switch {
	case p.UsesAPIKey() && !p.APISecret.IsZero():
		c.user, c.pass = p.APIKeySID, p.APISecret
	case !p.AuthToken.IsZero():
		c.user, c.pass = p.AccountSID(), p.AuthToken
	default:
		return nil, fmt.Errorf("twilio client %s: no credentials: the profile has neither an API key and secret nor an auth token", r)
	}
	return c, nil
}

// Region is the client's region.
func (c *Client) Region() region.Region { return c.region }

// Edge is the edge the client's requests enter Twilio through.
func (c *Client) Edge() string { return c.edge }

// AccountSID is the account the client acts on.
func (c *Client) AccountSID() string { return c.accountSID }

// AuthToken is the region's auth token (zero when not configured), kept for
// signing webhook probe requests even when calls use an API key.
func (c *Client) AuthToken() region.Secret { return c.authToken }

// Host is the host name the client uses for product: api.dublin.ie1.twilio.com.
func (c *Client) Host(product string) string { return region.Host(product, c.region, c.edge) }

// String names the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("twilio %s client via %s for %s", c.region, c.edge, c.accountSID)
}

// LogValue keeps a logged client to its region, edge and account.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("region", string(c.region)), slog.String("edge", c.edge), slog.String("account_sid", c.accountSID))
}

// Pool is the pool the client sends through.
func (c *Client) Pool() *Pool { return c.pool }

// Classify classifies err from a call made through c (see Classify),
// noting which credential the call used.
func (c *Client) Classify(op string, err error) error {
	e := classify(c.region, op, err)
	if e == nil {
		return err
	}
	e.AuthToken = c.user == c.accountSID
	return e
}

// API is the REST API 2010 service (IncomingPhoneNumbers, Calls,
// Applications, SIP domains, Keys), bound to ctx.
func (c *Client) API(ctx context.Context) *apiv2010.ApiService {
	return apiv2010.NewApiService(c.handler(ctx))
}

// Routes is the Inbound Processing Region service (routes v2), bound to ctx.
func (c *Client) Routes(ctx context.Context) *routesv2.ApiService {
	return routesv2.NewApiService(c.handler(ctx))
}

// Trunking is the Elastic SIP Trunking service (trunking v1), bound to ctx.
func (c *Client) Trunking(ctx context.Context) *trunkingv1.ApiService {
	return trunkingv1.NewApiService(c.handler(ctx))
}

// Insights is the Voice Insights service (insights v1), bound to ctx.
func (c *Client) Insights(ctx context.Context) *insightsv1.ApiService {
	return insightsv1.NewApiService(c.handler(ctx))
}

// Monitor is the Monitor service (alerts, events; monitor v1), bound to ctx.
func (c *Client) Monitor(ctx context.Context) *monitorv1.ApiService {
	return monitorv1.NewApiService(c.handler(ctx))
}

// handler builds a request handler whose HTTP client applies ctx. Region
// and edge are set explicitly after NewRequestHandler, which would
// otherwise take them from TWILIO_REGION and TWILIO_EDGE; credentials are
// passed explicitly for the same reason (TWILIO_AUTH_TOKEN).
func (c *Client) handler(ctx context.Context) *client.RequestHandler {
	if ctx == nil {
		ctx = context.Background()
	}
	bc := &client.Client{
		Credentials: client.NewCredentials(c.user, c.pass.Reveal()),
		HTTPClient: &http.Client{
			Transport: ctxTransport{ctx: ctx, pool: c.pool},
			// Twilio does not redirect API calls; a 3xx is returned as is
			// rather than followed with credentials to another host.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			// No Timeout: the caller's context and Options.AttemptTimeout
			// bound the call; a client timeout would cut across retries.
		},
	}
	bc.SetAccountSid(c.accountSID)
	h := client.NewRequestHandler(bc)
	h.Region, h.Edge = string(c.region), c.edge
	return h
}

// ctxTransport gives every request of one call the caller's context, which
// twilio-go replaces with context.Background().
type ctxTransport struct {
	ctx  context.Context
	pool *Pool
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.pool.roundTrip(req.WithContext(t.ctx))
}

// Set holds one client per region, all on one Pool.
type Set struct {
	clients map[region.Region]*Client
	order   []region.Region
}

// NewSet builds a client for every profile. Two profiles for one region are
// an error: which one a failover would use must not depend on order.
func NewSet(pool *Pool, profiles ...region.Resolved) (*Set, error) {
	s := &Set{clients: make(map[region.Region]*Client, len(profiles))}
	var errs []error
	for _, p := range profiles {
		if _, dup := s.clients[p.Region()]; dup {
			errs = append(errs, fmt.Errorf("twilio clients: two profiles for region %s", p.Region()))
			continue
		}
		c, err := NewRegionClient(p, pool)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.clients[c.region] = c
		s.order = append(s.order, c.region)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Get returns the region's client.
func (s *Set) Get(r region.Region) (*Client, error) {
	c, ok := s.clients[r]
	if !ok {
		return nil, fmt.Errorf("no twilio profile for region %s: add one to the workbook's regions", r)
	}
	return c, nil
}

// Regions lists the set's regions in the order the profiles were given.
func (s *Set) Regions() []region.Region { return slices.Clone(s.order) }

// Clients lists the set's clients in Regions order.
func (s *Set) Clients() []*Client {
	out := make([]*Client, 0, len(s.order))
	for _, r := range s.order {
		out = append(out, s.clients[r])
	}
	return out
}

// Subset is a Set of some of s's clients (sharing s's pool): an ungraceful
// failover reads only the regions that answer.
func (s *Set) Subset(regions ...region.Region) (*Set, error) {
	sub := &Set{clients: make(map[region.Region]*Client, len(regions))}
	for _, r := range regions {
		c, err := s.Get(r)
		if err != nil {
			return nil, err
		}
		if _, dup := sub.clients[r]; !dup {
			sub.clients[r] = c
			sub.order = append(sub.order, r)
		}
	}
	return sub, nil
}
