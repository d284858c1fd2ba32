package twilioemu

import (
	"crypto/subtle"
	"net/http"
)

// authenticate checks HTTP Basic credentials the way Twilio does per region:
// the account SID with the region's auth token, or an API key created in this
// region with its secret. A key from another region, a revoked key or a wrong
// secret is 401 / 20003. Standard and restricted keys cannot use /Accounts or
// /Keys. The account in the path must be the authenticated account.
func (e *Emulator) authenticate(c *call, rt *route, f *Faults) *apiError {
	user, pass, ok := c.r.BasicAuth()
	if !ok {
		return errAuth()
	}
	rs := c.region
	switch {
	case user == rs.accountSID:
		if subtle.ConstantTimeCompare([]byte(pass), []byte(rs.authToken)) != 1 {
			return errAuth()
		}
	default:
		k, found := rs.keys.get(user)
		if !found || k.revoked || f.keyRevoked(k.sid) || subtle.ConstantTimeCompare([]byte(pass), []byte(k.secret)) != 1 {
			return errAuth()
		}
		if rt.mainOnly && k.kind != "main" {
			return newAPIError(http.StatusUnauthorized, 20003, "Authentication Error - invalid username")
		}
		c.key = k
	}
	if sid, ok := c.params["AccountSid"]; ok && sid != rs.accountSID {
		return errAuth()
	}
	return nil
}
