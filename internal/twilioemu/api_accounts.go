package twilioemu

import (
	"net/http"
)

// The Account and its API keys (2010 API). Both are the credentials' own
// resources, so Twilio refuses Standard and Restricted keys on them: the
// routes are mainOnly and authenticate answers 401 / 20003 before a handler
// runs. Each region has its own auth token and keys; a fetch shows the token
// of the region asked, as Twilio does for a regional account.
func (e *Emulator) registerAccounts() {
	e.router.add("api", "GET", "/2010-04-01/Accounts/{Sid}.json", "FetchAccount", fetchAccount).mainOnly = true
	e.router.add("api", "GET", v2010+"/Keys.json", "ListKey", listKeys).mainOnly = true
	e.router.add("api", "GET", v2010+"/Keys/{Sid}.json", "FetchKey", fetchKey).mainOnly = true
}

// accountJSON is api.v2010.account.
type accountJSON struct {
	AuthToken       string            `json:"auth_token"`
	DateCreated     date2822          `json:"date_created"`
	DateUpdated     date2822          `json:"date_updated"`
	FriendlyName    string            `json:"friendly_name"`
	OwnerAccountSID string            `json:"owner_account_sid"`
	SID             string            `json:"sid"`
	Status          string            `json:"status"`
	SubresourceURIs map[string]string `json:"subresource_uris"`
	Type            string            `json:"type"`
	URI             string            `json:"uri"`
}

// accountSubresources are the keys of the spec example's subresource_uris,
// each a path under the account.
var accountSubresources = map[string]string{
	"available_phone_numbers": "AvailablePhoneNumbers", "calls": "Calls", "conferences": "Conferences",
	"incoming_phone_numbers": "IncomingPhoneNumbers", "notifications": "Notifications",
	"outgoing_caller_ids": "OutgoingCallerIds", "recordings": "Recordings", "transcriptions": "Transcriptions",
	"addresses": "Addresses", "signing_keys": "SigningKeys", "connect_apps": "ConnectApps", "sip": "SIP",
	"authorized_connect_apps": "AuthorizedConnectApps", "usage": "Usage", "keys": "Keys",
	"applications": "Applications", "short_codes": "SMS/ShortCodes", "queues": "Queues",
	"messages": "Messages", "balance": "Balance",
}

func fetchAccount(c *call) (int, any, *apiError) {
	rs := c.region
	// authenticate checks only an {AccountSid} path parameter; this path
	// names the account {Sid}. Another account's SID is refused as Twilio
	// refuses a path account the credentials do not own.
	if c.params["Sid"] != rs.accountSID {
		return 0, nil, errAuth()
	}
	base := "/2010-04-01/Accounts/" + rs.accountSID
	subs := make(map[string]string, len(accountSubresources))
	for k, p := range accountSubresources {
		subs[k] = base + "/" + p + ".json"
	}
	return http.StatusOK, accountJSON{
		AuthToken: rs.authToken, DateCreated: date2822(c.acct.created), DateUpdated: date2822(c.acct.created),
		FriendlyName: c.acct.name, OwnerAccountSID: rs.accountSID, SID: rs.accountSID,
		Status: "active", SubresourceURIs: subs, Type: "Full", URI: base + ".json",
	}, nil
}

// keyJSON is api.v2010.account.key: never the secret, which Twilio shows
// only once, in the answer to the key's creation.
type keyJSON struct {
	SID          string   `json:"sid"`
	FriendlyName string   `json:"friendly_name"`
	DateCreated  date2822 `json:"date_created"`
	DateUpdated  date2822 `json:"date_updated"`
}

func toKeyJSON(k *apiKey) keyJSON {
	return keyJSON{SID: k.sid, FriendlyName: k.friendlyName, DateCreated: date2822(k.created), DateUpdated: date2822(k.updated)}
}

// liveKey reports whether a key still exists as far as Twilio would say: a
// revoked key (for good, or by a fault) has been deleted.
func liveKey(c *call, k *apiKey) bool {
	return !k.revoked && !c.e.faults.Load().keyRevoked(k.sid)
}

func listKeys(c *call) (int, any, *apiError) {
	p, ae := parsePage(c.r.URL.Query())
	if ae != nil {
		return 0, nil, ae
	}
	keys := &c.region.keys
	hits, next := p.scan(keys.len(), func(i int) bool { return liveKey(c, keys.at(i)) })
	items := make([]any, len(hits))
	for i, h := range hits {
		items[i] = toKeyJSON(keys.at(h))
	}
	return http.StatusOK, pageV2010(c, "keys", p, items, next), nil
}

func fetchKey(c *call) (int, any, *apiError) {
	k, ok := c.region.keys.get(c.params["Sid"])
	if !ok || !liveKey(c, k) {
		return 0, nil, errNotFound(c.r.URL.Path)
	}
	return http.StatusOK, toKeyJSON(k), nil
}
