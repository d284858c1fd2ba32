package readiness_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/readiness"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

const (
	appNum, trunkNum, urlNum = "+14155550001", "+14155550002", "+14155550003"
	trunkDomain, sipDomain   = "acme.pstn.twilio.com", "acme.sip.twilio.com"
)

// regionRes is a fully configured region: the standby mirrors the primary
// with its own SIDs, as Twilio's per-region resources do.
func regionRes(r string) *snapshot.RegionResources {
	return &snapshot.RegionResources{
		Applications: []snapshot.Application{{SID: "AP" + r, FriendlyName: "ivr", VoiceURL: "https://" + r + ".app.example/voice",
			VoiceFallbackURL: "https://fb.example/" + r}},
		Trunks: []snapshot.Trunk{{SID: "TK" + r, DomainName: trunkDomain, DisasterRecoveryURL: "https://dr.example/" + r,
			OriginationURLs: []snapshot.OriginationURL{{SID: "OU" + r, FriendlyName: "sbc", SIPURL: "sip:sbc." + r + ".example", Priority: 10, Weight: 10, Enabled: true}}}},
		SIPDomains: []snapshot.SIPDomain{{SID: "SD" + r, DomainName: sipDomain, VoiceURL: "https://" + r + ".app.example/sip"}},
	}
}

// readySnapshot is a small account whose standby is complete.
func readySnapshot() *snapshot.Snapshot {
	s := &snapshot.Snapshot{Format: snapshot.Format, AccountSID: "ACtest", Regions: []string{"us1", "ie1"},
		Resources: map[string]*snapshot.RegionResources{"us1": regionRes("us1"), "ie1": regionRes("ie1")}}
	for _, e := range []string{appNum, trunkNum, urlNum} {
		n := snapshot.Number{PhoneNumber: e, Routing: snapshot.Route{VoiceRegion: "us1"}, Records: map[string]*snapshot.NumberRecord{}}
		for _, r := range []string{"us1", "ie1"} {
			rec := &snapshot.NumberRecord{SID: "PN" + r + e[len(e)-1:]}
			switch e {
			case appNum:
				rec.VoiceApplicationSID = "AP" + r
			case trunkNum:
				rec.TrunkSID = "TK" + r
			default:
				rec.VoiceURL, rec.VoiceFallbackURL = "https://"+r+".app.example/voice", "https://fb.example/"+r
			}
			n.Records[r] = rec
		}
		s.Numbers = append(s.Numbers, n)
	}
	return s
}

func caseWorkbook() *workbook.Workbook {
	return &workbook.Workbook{Version: 1, Program: "t", Regions: []workbook.RegionProfile{
		{Profile: region.Profile{Region: region.US1}, Role: workbook.RolePrimary,
			App: workbook.AppEndpoints{VoiceURL: "https://us1.app.example/voice"}},
		{Profile: region.Profile{Region: region.IE1, Edge: "dublin"}, Role: workbook.RoleStandby,
			App: workbook.AppEndpoints{VoiceURL: "https://ie1.app.example/voice"}},
	}, Flows: []workbook.Flow{{Name: "f", Criticality: "critical", Numbers: []string{appNum, trunkNum, urlNum},
		Trunks: []string{trunkDomain}, SIPDomains: []string{sipDomain}}}}
}

func number(s *snapshot.Snapshot, e string) *snapshot.Number {
	for i := range s.Numbers {
		if s.Numbers[i].PhoneNumber == e {
			return &s.Numbers[i]
		}
	}
	panic(e)
}

// TestHandWrittenCases breaks one thing in a ready standby per case and
// expects exactly the gap that names it, with a remediation addressed to the
// standby's own host and SIDs.
func TestHandWrittenCases(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(s *snapshot.Snapshot, wb *workbook.Workbook)
		want   []key
		fixHas string // substring of the first gap's remediation
		errors int
	}{
		{name: "ready", break_: func(*snapshot.Snapshot, *workbook.Workbook) {}},
		{name: "standby record missing", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) { delete(number(s, urlNum).Records, "ie1") },
			want:   []key{{readiness.GapStandbyUnconfigured, "ie1", urlNum}},
			fixHas: "POST https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/ACtest/IncomingPhoneNumbers/{ie1 SID of +14155550003}.json VoiceUrl=https://ie1.app.example/voice", errors: 1},
		{name: "standby record empty", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			number(s, appNum).Records["ie1"].VoiceApplicationSID = ""
		},
			want: []key{{readiness.GapStandbyUnconfigured, "ie1", appNum}}, fixHas: "IncomingPhoneNumbers/PNie11.json VoiceApplicationSid=APie1", errors: 1},
		{name: "standby handler of another kind", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			rec := number(s, trunkNum).Records["ie1"]
			rec.TrunkSID, rec.VoiceURL = "", "https://elsewhere.example/"
		}, want: []key{{readiness.GapHandlerMismatch, "ie1", trunkNum}}, fixHas: "TrunkSid=TKie1", errors: 1},
		{name: "standby no fallback", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			number(s, urlNum).Records["ie1"].VoiceFallbackURL = ""
		},
			want: []key{{readiness.GapStandbyNoFallback, "ie1", urlNum}}, fixHas: "PNie13.json VoiceFallbackUrl=https://fb.example/us1"},
		{name: "standby no status callback", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			number(s, urlNum).Records["us1"].StatusCallback = "https://us1.app.example/status"
		},
			want: []key{{readiness.GapStandbyNoStatusCallback, "ie1", urlNum}}, fixHas: "PNie13.json StatusCallback="},
		{name: "trunk lacks an ACL the primary has", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			for _, r := range []string{"us1", "ie1"} {
				s.Resources[r].IPAccessControlLists = []snapshot.NamedList{{SID: "AL" + r, FriendlyName: "sbc-ips"}}
			}
			s.Resources["us1"].Trunks[0].IPAccessControlLists = []string{"ALus1"}
		}, want: []key{{readiness.GapTrunkAssociation, "ie1", trunkDomain}}, fixHas: "/v1/Trunks/TKie1/IpAccessControlLists IpAccessControlListSid=ALie1", errors: 1},
		{name: "trunk lacks a list the standby does not have", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			s.Resources["us1"].CredentialLists = []snapshot.NamedList{{SID: "CLus1", FriendlyName: "agents"}}
			s.Resources["us1"].Trunks[0].CredentialLists = []string{"CLus1"}
		}, want: []key{{readiness.GapTrunkAssociation, "ie1", trunkDomain}}, fixHas: "create credential list agents in ie1 with its entries from your secret store", errors: 1},
		{name: "app missing", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			s.Resources["ie1"].Applications = nil
		}, want: []key{{readiness.GapAppMissing, "ie1", "ivr"}, {readiness.GapStandbyUnconfigured, "ie1", appNum}},
			fixHas: "POST https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/ACtest/Applications.json FriendlyName=ivr VoiceUrl=https://ie1.app.example/voice", errors: 2},
		{name: "app matched by name, not SID", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			s.Resources["ie1"].Applications[0].FriendlyName = "ivr-old"
		}, want: []key{{readiness.GapAppMissing, "ie1", "ivr"}, {readiness.GapHandlerMismatch, "ie1", appNum}}, fixHas: "FriendlyName=ivr", errors: 2},
		{name: "app without voice URL", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) { s.Resources["ie1"].Applications[0].VoiceURL = "" },
			want: []key{{readiness.GapAppNoVoiceURL, "ie1", "ivr"}}, fixHas: "Applications/APie1.json VoiceUrl=", errors: 1},
		{name: "app without fallback", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			s.Resources["ie1"].Applications[0].VoiceFallbackURL = ""
		},
			want: []key{{readiness.GapStandbyNoFallback, "ie1", "ivr"}}, fixHas: "Applications/APie1.json VoiceFallbackUrl=https://fb.example/us1"},
		{name: "trunk missing", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) { s.Resources["ie1"].Trunks = nil },
			want:   []key{{readiness.GapStandbyUnconfigured, "ie1", trunkNum}, {readiness.GapTrunkMissing, "ie1", trunkDomain}},
			fixHas: "{SID of trunk acme.pstn.twilio.com in ie1, after creating it}", errors: 2},
		{name: "trunk without enabled origination", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			s.Resources["ie1"].Trunks[0].OriginationURLs[0].Enabled = false
		}, want: []key{{readiness.GapTrunkNoOrigination, "ie1", trunkDomain}}, fixHas: "POST https://trunking.dublin.ie1.twilio.com/v1/Trunks/TKie1/OriginationUrls", errors: 1},
		{name: "trunk without DR URL", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			s.Resources["ie1"].Trunks[0].DisasterRecoveryURL = ""
		},
			want: []key{{readiness.GapTrunkNoDRURL, "ie1", trunkDomain}}, fixHas: "Trunks/TKie1 DisasterRecoveryUrl=https://dr.example/us1"},
		{name: "primary trunk without DR URL asks none", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			s.Resources["ie1"].Trunks[0].DisasterRecoveryURL = ""
			s.Resources["us1"].Trunks[0].DisasterRecoveryURL = ""
		}},
		{name: "number not joined to the trunk", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) {
			number(s, trunkNum).Records["ie1"].TrunkSID = "TKother"
		}, want: []key{{readiness.GapStandbyUnconfigured, "ie1", trunkNum}}, fixHas: "TrunkSid=TKie1", errors: 1},
		{name: "SIP domain missing", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) { s.Resources["ie1"].SIPDomains = nil },
			want: []key{{readiness.GapSIPDomainMissing, "ie1", sipDomain}}, fixHas: "SIP/Domains.json DomainName=acme.sip.twilio.com", errors: 1},
		{name: "attestation expired", break_: func(_ *snapshot.Snapshot, wb *workbook.Workbook) {
			wb.Attestations = []workbook.Attestation{
				{ID: "geo", Item: "geo permissions", Region: "ie1", Owner: "ada", Date: "2025-01-01", Expires: "2026-02-28"},
				{ID: "cps", Item: "CPS", Region: "ie1", Owner: "ada", Date: "2025-01-01", Expires: "2026-03-02"},
			}
		}, want: []key{{readiness.GapAttestationExpired, "ie1", "geo"}}, fixHas: "ada", errors: 1},
		{name: "standby never read", break_: func(s *snapshot.Snapshot, _ *workbook.Workbook) { delete(s.Resources, "ie1") },
			want: []key{{readiness.GapRegionNotInSnapshot, "ie1", "ie1"}}, fixHas: "--regions", errors: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, wb := readySnapshot(), caseWorkbook()
			tc.break_(s, wb)
			rep, err := readiness.Check(s, wb, "f", opts())
			if err != nil {
				t.Fatal(err)
			}
			var got []key
			for _, g := range rep.Gaps {
				got = append(got, key{g.Kind, g.Region, g.Resource})
			}
			sortKeys(tc.want)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("gaps (-want +got):\n%s", diff)
			}
			if tc.fixHas != "" && !strings.Contains(rep.Gaps[0].Remediation, tc.fixHas) {
				t.Errorf("remediation %q\nwant it to contain %q", rep.Gaps[0].Remediation, tc.fixHas)
			}
			if got := rep.Errors(); got != tc.errors {
				t.Errorf("errors = %d, want %d", got, tc.errors)
			}
			if rep.Ready != (tc.errors == 0) {
				t.Errorf("ready = %v with %d errors", rep.Ready, tc.errors)
			}
		})
	}
}
