// Package snapshot defines the account snapshot: the observed state of one
// Twilio account in every region at one moment (numbers with each region's
// record and their routing, TwiML Apps, SIP domains, trunks, ACLs and
// credential lists per region, trunk and SIP-domain routing).
//
// It is the one format voicedr's inventory writes and the emulator seeds from,
// so a snapshot of a real account can seed a tabletop drill. A snapshot never
// holds a secret; the optional Credentials section exists only for emulator
// seeds and is refused by anything that saves snapshots of real accounts.
package snapshot

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Format is the value of Snapshot.Format for this version of the schema.
const Format = "voicedr.snapshot/v1"

// Snapshot is an account's observed state. Field names are snake_case JSON.
type Snapshot struct {
	Format     string    `json:"format"`
	TakenAt    time.Time `json:"taken_at"`
	AccountSID string    `json:"account_sid"`
	// Regions lists the regions this snapshot read, in order.
	Regions []string `json:"regions"`
	Numbers []Number `json:"numbers"`
	// Resources holds each region's own resources, keyed by region ID.
	Resources map[string]*RegionResources `json:"resources"`
	// TrunkRouting and SIPDomainRouting are global, keyed by domain name.
	TrunkRouting     []Route `json:"trunk_routing,omitempty"`
	SIPDomainRouting []Route `json:"sip_domain_routing,omitempty"`
	// Credentials is for emulator seeds only (never written by inventory).
	Credentials map[string]*RegionCredentials `json:"credentials,omitempty"`
}

// Number is one owned phone number: global facts, its routing and every
// region's configuration record for it.
type Number struct {
	PhoneNumber  string        `json:"phone_number"`
	FriendlyName string        `json:"friendly_name,omitempty"`
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	// Routing is the inbound processing region. Explicit is false when the
	// routes API answered 404 (never set, so us1).
	Routing Route `json:"routing"`
	// Records maps region ID to that region's record of the number.
	Records map[string]*NumberRecord `json:"records"`
}

// Capabilities mirrors Twilio's phone number capabilities.
type Capabilities struct {
	Voice bool `json:"voice"`
	SMS   bool `json:"sms"`
	MMS   bool `json:"mms"`
	Fax   bool `json:"fax"`
}

// NumberRecord is one region's voice configuration of a number. SIDs are the
// region's own; references (app, trunk) are SIDs valid in that region.
type NumberRecord struct {
	SID                  string `json:"sid,omitempty"`
	FriendlyName         string `json:"friendly_name,omitempty"`
	VoiceURL             string `json:"voice_url,omitempty"`
	VoiceMethod          string `json:"voice_method,omitempty"`
	VoiceFallbackURL     string `json:"voice_fallback_url,omitempty"`
	VoiceFallbackMethod  string `json:"voice_fallback_method,omitempty"`
	StatusCallback       string `json:"status_callback,omitempty"`
	StatusCallbackMethod string `json:"status_callback_method,omitempty"`
	VoiceApplicationSID  string `json:"voice_application_sid,omitempty"`
	TrunkSID             string `json:"trunk_sid,omitempty"`
	VoiceReceiveMode     string `json:"voice_receive_mode,omitempty"`
}

// Route is a global routing entry (number, trunk or SIP domain).
type Route struct {
	// Key is the trunk or SIP domain name; empty for a number's own routing.
	Key         string `json:"key,omitempty"`
	VoiceRegion string `json:"voice_region"`
	Explicit    bool   `json:"explicit"`
}

// RegionResources are the resources one region holds on its own.
type RegionResources struct {
	Applications         []Application `json:"applications,omitempty"`
	Trunks               []Trunk       `json:"trunks,omitempty"`
	SIPDomains           []SIPDomain   `json:"sip_domains,omitempty"`
	CredentialLists      []NamedList   `json:"credential_lists,omitempty"`
	IPAccessControlLists []NamedList   `json:"ip_access_control_lists,omitempty"`
	// AdvancedInsights is whether Voice Insights Advanced Features are on
	// in the region (summaries need them); nil when not known.
	AdvancedInsights *bool `json:"advanced_insights,omitempty"`
}

// Application is a TwiML App's voice configuration.
type Application struct {
	SID                  string `json:"sid"`
	FriendlyName         string `json:"friendly_name"`
	VoiceURL             string `json:"voice_url,omitempty"`
	VoiceMethod          string `json:"voice_method,omitempty"`
	VoiceFallbackURL     string `json:"voice_fallback_url,omitempty"`
	VoiceFallbackMethod  string `json:"voice_fallback_method,omitempty"`
	StatusCallback       string `json:"status_callback,omitempty"`
	StatusCallbackMethod string `json:"status_callback_method,omitempty"`
}

// Trunk is an Elastic SIP trunk with its origination URLs and associations.
type Trunk struct {
	SID                    string           `json:"sid"`
	FriendlyName           string           `json:"friendly_name,omitempty"`
	DomainName             string           `json:"domain_name"`
	DisasterRecoveryURL    string           `json:"disaster_recovery_url,omitempty"`
	DisasterRecoveryMethod string           `json:"disaster_recovery_method,omitempty"`
	OriginationURLs        []OriginationURL `json:"origination_urls,omitempty"`
	// IPAccessControlLists and CredentialLists hold SIDs of this region's lists.
	IPAccessControlLists []string `json:"ip_access_control_lists,omitempty"`
	CredentialLists      []string `json:"credential_lists,omitempty"`
}

// OriginationURL is one SIP URI a trunk sends inbound calls to.
type OriginationURL struct {
	SID          string `json:"sid"`
	FriendlyName string `json:"friendly_name"`
	SIPURL       string `json:"sip_url"`
	Priority     int    `json:"priority"`
	Weight       int    `json:"weight"`
	Enabled      bool   `json:"enabled"`
}

// SIPDomain is a Programmable Voice SIP domain.
type SIPDomain struct {
	SID                 string `json:"sid"`
	FriendlyName        string `json:"friendly_name,omitempty"`
	DomainName          string `json:"domain_name"`
	VoiceURL            string `json:"voice_url,omitempty"`
	VoiceMethod         string `json:"voice_method,omitempty"`
	VoiceFallbackURL    string `json:"voice_fallback_url,omitempty"`
	VoiceFallbackMethod string `json:"voice_fallback_method,omitempty"`
	SIPRegistration     bool   `json:"sip_registration,omitempty"`
}

// NamedList is an IP access control list or a credential list.
type NamedList struct {
	SID          string `json:"sid"`
	FriendlyName string `json:"friendly_name"`
}

// RegionCredentials are an emulator seed's credentials for one region.
type RegionCredentials struct {
	AccountSID string `json:"account_sid,omitempty"`
	AuthToken  string `json:"auth_token"`
	Keys       []Key  `json:"keys"`
}

// Key is an API key: type main, standard or restricted.
type Key struct {
	SID          string `json:"sid"`
	Secret       string `json:"secret"`
	FriendlyName string `json:"friendly_name,omitempty"`
	Type         string `json:"type"`
}

// Read decodes a snapshot strictly (unknown fields are errors) and checks it.
func Read(r io.Reader) (*Snapshot, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Validate checks the invariants a consumer relies on.
func (s *Snapshot) Validate() error {
	if s.Format != Format {
		return fmt.Errorf("snapshot format %q: want %q", s.Format, Format)
	}
	if len(s.Regions) == 0 {
		return fmt.Errorf("snapshot: regions is empty: list the regions it covers, e.g. [\"us1\",\"ie1\"]")
	}
	seen := make(map[string]bool, len(s.Numbers))
	for i, n := range s.Numbers {
		if n.PhoneNumber == "" {
			return fmt.Errorf("snapshot: numbers[%d].phone_number is empty", i)
		}
		if seen[n.PhoneNumber] {
			return fmt.Errorf("snapshot: numbers[%d]: %s appears twice", i, n.PhoneNumber)
		}
		seen[n.PhoneNumber] = true
	}
	return nil
}

// Write encodes the snapshot as indented JSON.
func (s *Snapshot) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WebhookKind says which of a record's webhooks a URL is, so a rewrite
// can point each at the matching endpoint of a sample app.
type WebhookKind string

// Webhook kinds. A trunk's disaster-recovery URL answers calls as a voice
// URL does.
const (
	WebhookVoice    WebhookKind = "voice"
	WebhookFallback WebhookKind = "fallback"
	WebhookStatus   WebhookKind = "status"
	WebhookTrunkDR  WebhookKind = "trunk_dr"
)

// RewriteWebhooks replaces every webhook URL in the snapshot (numbers'
// records, TwiML Apps, SIP domains, trunks' disaster-recovery URLs) with
// fn(region, kind, url). Tabletop copies use it so that nothing a rehearsal
// does can reach a customer's production endpoint. Empty URLs stay empty.
func (s *Snapshot) RewriteWebhooks(fn func(region string, kind WebhookKind, url string) string) {
	re := func(r string, k WebhookKind, u *string) {
		if *u != "" {
			*u = fn(r, k, *u)
		}
	}
	for _, n := range s.Numbers {
		for r, rec := range n.Records {
			re(r, WebhookVoice, &rec.VoiceURL)
			re(r, WebhookFallback, &rec.VoiceFallbackURL)
			re(r, WebhookStatus, &rec.StatusCallback)
		}
	}
	for r, res := range s.Resources {
		for i := range res.Applications {
			a := &res.Applications[i]
			re(r, WebhookVoice, &a.VoiceURL)
			re(r, WebhookFallback, &a.VoiceFallbackURL)
			re(r, WebhookStatus, &a.StatusCallback)
		}
		for i := range res.SIPDomains {
			re(r, WebhookVoice, &res.SIPDomains[i].VoiceURL)
			re(r, WebhookFallback, &res.SIPDomains[i].VoiceFallbackURL)
		}
		for i := range res.Trunks {
			re(r, WebhookTrunkDR, &res.Trunks[i].DisasterRecoveryURL)
		}
	}
}

// App returns the region's TwiML App with that friendly name (apps are
// matched across regions by name: SIDs differ). Nil-safe.
func (r *RegionResources) App(name string) *Application {
	if r == nil {
		return nil
	}
	for i := range r.Applications {
		if r.Applications[i].FriendlyName == name {
			return &r.Applications[i]
		}
	}
	return nil
}

// Trunk returns the region's trunk with that domain name. Nil-safe.
func (r *RegionResources) Trunk(domain string) *Trunk {
	if r == nil {
		return nil
	}
	for i := range r.Trunks {
		if r.Trunks[i].DomainName == domain {
			return &r.Trunks[i]
		}
	}
	return nil
}

// SIPDomain returns the region's SIP domain with that name. Nil-safe.
func (r *RegionResources) SIPDomain(domain string) *SIPDomain {
	if r == nil {
		return nil
	}
	for i := range r.SIPDomains {
		if r.SIPDomains[i].DomainName == domain {
			return &r.SIPDomains[i]
		}
	}
	return nil
}

// ListByName returns the list with that friendly name, nil when absent.
func ListByName(ls []NamedList, name string) *NamedList {
	for i := range ls {
		if ls[i].FriendlyName == name {
			return &ls[i]
		}
	}
	return nil
}

// ListName is the friendly name of the list with that SID; an unknown SID
// is its own name (it is the only one there is).
func ListName(ls []NamedList, sid string) string {
	for _, l := range ls {
		if l.SID == sid {
			return l.FriendlyName
		}
	}
	return sid
}
