package readiness

import (
	"cmp"
	"fmt"

	"github.com/voicedr/voicedr/internal/posture"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

// checkNumbers compares each number's standby record with its primary one,
// on the effective handler (trunk > app > URL): Twilio ignores a number's
// URLs when an app or trunk is set, so comparing raw fields would report
// differences no call would ever notice.
// GapStandbyNoStatusCallback is parity: the primary record tells the
// customer a call ended, the standby's does not.
const GapStandbyNoStatusCallback = "number_standby_no_status_callback"

func (c *checker) checkNumbers(sb *workbook.RegionProfile) {
	pr, sr := string(c.p.Region), string(sb.Region)
	pres, sres := c.s.Resources[pr], c.s.Resources[sr]
	it := Item{ID: "numbers/" + sr, Title: "Numbers have a standby record in " + sr + " with the primary's kind of handler", Region: sr}
	fb := Item{ID: "number-fallbacks/" + sr, Title: "Numbers have a fallback URL in " + sr + " where the primary has one", Region: sr}
	for _, i := range c.numbers {
		n := c.s.Numbers[i]
		hp := posture.Effective(n.Records[pr], pres)
		if hp.Kind == "" {
			// Nothing answers in the primary either: posture reports that;
			// there is no handler for the standby to match.
			continue
		}
		it.Checked++
		rec := n.Records[sr]
		hs := posture.Effective(rec, sres)
		ref := fmt.Sprintf("evidence/snapshot.json#/numbers/%d/records/%s", i, sr)
		switch {
		case hs.Kind == "":
			c.gap(GapStandbyUnconfigured, SeverityError, sr, n.PhoneNumber, "standby record has no voice handler; the primary's is "+describe(hp),
				c.numberFix(sb, n, rec, hp))
		case hs.Kind != hp.Kind || hs.AppName != hp.AppName || hs.TrunkDomain != hp.TrunkDomain:
			c.gap(GapHandlerMismatch, SeverityError, sr, n.PhoneNumber, "standby handler is "+describe(hs)+", the primary's is "+describe(hp),
				c.numberFix(sb, n, rec, hp))
		default:
			// App fallbacks are judged once per app, trunks have no fallback
			// URL: only URL-routed numbers carry their own.
			if hp.Kind == "url" && hp.StatusCallback != "" && hs.StatusCallback == "" {
				c.gap(GapStandbyNoStatusCallback, SeverityWarning, sr, n.PhoneNumber, "primary has a status callback, the standby record does not",
					"POST https://"+host("api", sb)+"/2010-04-01/Accounts/"+c.accountSID()+"/IncomingPhoneNumbers/"+numberSID(rec, sr, n)+
						".json StatusCallback="+c.standbyURL(sb, hp.StatusCallback))
			}
			if hp.Kind == "url" && hp.FallbackURL != "" {
				fb.Checked++
				if hs.FallbackURL == "" {
					fb.Failed++
					fb.Evidence = append(fb.Evidence, ref)
					c.gap(GapStandbyNoFallback, SeverityWarning, sr, n.PhoneNumber, "primary has a fallback URL, the standby record does not",
						"POST https://"+host("api", sb)+"/2010-04-01/Accounts/"+c.accountSID()+"/IncomingPhoneNumbers/"+numberSID(rec, sr, n)+
							".json VoiceFallbackUrl="+c.standbyURL(sb, hp.FallbackURL)+" VoiceFallbackMethod="+cmp.Or(sb.App.FallbackMethod, "POST"))
				}
			}
			continue
		}
		it.Failed++
		it.Evidence = append(it.Evidence, ref)
	}
	c.item(it)
	if fb.Checked > 0 {
		c.item(fb)
	}
}

func describe(h posture.Handler) string {
	switch h.Kind {
	case "app":
		return "TwiML App " + h.AppName
	case "trunk":
		return "trunk " + h.TrunkDomain
	case "url":
		return "voice URL " + h.VoiceURL
	}
	return "none"
}

// numberSID is the standby's own SID of the number: SIDs differ between
// regions, so the primary's would address the wrong record.
func numberSID(rec *snapshot.NumberRecord, sr string, n snapshot.Number) string {
	if rec != nil && rec.SID != "" {
		return rec.SID
	}
	return "{" + sr + " SID of " + n.PhoneNumber + "}"
}

// numberFix is the update that gives the standby record the primary's kind
// of handler, pointed at the standby's own app or trunk.
func (c *checker) numberFix(sb *workbook.RegionProfile, n snapshot.Number, rec *snapshot.NumberRecord, hp posture.Handler) string {
	sr := string(sb.Region)
	sres := c.s.Resources[sr]
	fix := "POST https://" + host("api", sb) + "/2010-04-01/Accounts/" + c.accountSID() + "/IncomingPhoneNumbers/" + numberSID(rec, sr, n) + ".json"
	switch hp.Kind {
	case "app":
		sid := "{SID of TwiML App " + hp.AppName + " in " + sr + ", after creating it}"
		if a := sres.App(hp.AppName); a != nil {
			sid = a.SID
		}
		return fix + " VoiceApplicationSid=" + sid
	case "trunk":
		sid := "{SID of trunk " + hp.TrunkDomain + " in " + sr + ", after creating it}"
		if t := sres.Trunk(hp.TrunkDomain); t != nil {
			sid = t.SID
		}
		return fix + " TrunkSid=" + sid
	}
	return fix + " VoiceUrl=" + c.standbyURL(sb, hp.VoiceURL) + " VoiceMethod=" + cmp.Or(sb.App.VoiceMethod, "POST") +
		optParam(" VoiceFallbackUrl=", c.standbyURL(sb, hp.FallbackURL)) +
		optParam(" StatusCallback=", c.standbyURL(sb, hp.StatusCallback))
}
