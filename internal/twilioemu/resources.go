package twilioemu

import "time"

// The per-region resources. Field sets follow Twilio's resources; handlers
// render them in the wire format of their API version.

// apiKey is a region's API key. kind is main, standard or restricted.
type apiKey struct {
	sid, secret, friendlyName, kind string
	revoked                         bool
	created, updated                time.Time
}

// application is a TwiML App.
type application struct {
	sid, friendlyName                     string
	voiceURL, voiceMethod                 string
	voiceFallbackURL, voiceFallbackMethod string
	statusCallback, statusCallbackMethod  string
	voiceCallerIDLookup                   bool
	smsURL, smsMethod                     string
	smsFallbackURL, smsFallbackMethod     string
	smsStatusCallback                     string
	messageStatusCallback                 string
	publicApplicationConnectEnabled       bool
	created, updated                      time.Time
}

// sipDomain is a Programmable Voice SIP domain.
type sipDomain struct {
	sid, friendlyName, domainName                   string
	voiceURL, voiceMethod                           string
	voiceFallbackURL, voiceFallbackMethod           string
	voiceStatusCallbackURL, voiceStatusCallbackMeth string
	sipRegistration, emergencyCallingEnabled        bool
	secure                                          bool
	byocTrunkSID, emergencyCallerSID                string
	// credential list and IP ACL mappings, by list SID.
	credListMappings, ipACLMappings []string
	created, updated                time.Time
}

// namedList is a SIP credential list or IP access control list.
type namedList struct {
	sid, friendlyName string
	created, updated  time.Time
}

// trunk is an Elastic SIP trunk.
type trunk struct {
	sid, friendlyName, domainName                  string
	disasterRecoveryURL, disasterRecoveryMethod    string
	secure, cnamLookupEnabled, symmetricRTPEnabled bool
	transferMode, transferCallerID                 string
	recordingMode, recordingTrim                   string
	origination                                    table[*originationURL]
	// associations: list SID → association time.
	ipACLs, credLists table[*association]
	// phoneNumbers associated through the trunking PhoneNumbers subresource
	// (us1 only) are tracked on the number record's trunkSID.
	created, updated time.Time
}

// originationURL is one SIP URI a trunk sends inbound calls to.
type originationURL struct {
	sid, friendlyName, sipURL string
	priority, weight          int
	enabled                   bool
	created, updated          time.Time
}

// association links a trunk to a list of the same region.
type association struct {
	listSID          string
	created, updated time.Time
}

// callRecord is a Call log entry, kept in the processing region only.
type callRecord struct {
	sid, parentCallSID        string
	to, from, phoneNumberSID  string
	status, direction         string
	answeredBy, forwardedFrom string
	callerName, trunkSID      string
	groupSID, queueTime       string
	duration                  int
	price, priceUnit          string
	start, end                time.Time
	created, updated          time.Time
}

// alert is a Monitor alert: a webhook or API error, kept in its region.
type alert struct {
	sid, errorCode, logLevel, alertText    string
	requestURL, requestMethod, resourceSID string
	requestVariables, responseBody         string
	responseHeaders, requestHeaders        string
	serviceSID, moreInfo                   string
	generated, created, updated            time.Time
}

// callSummary is a Voice Insights call summary.
type callSummary struct {
	callSID, callType, callState, processingState string
	answeredBy                                    string
	from, to                                      map[string]any
	carrierEdge, sipEdge                          map[string]any
	tags                                          []string
	properties                                    map[string]any
	start, end, created                           time.Time
	duration, connectDuration                     int
	// partialAt and completeAt model Insights' lag: no summary before
	// partialAt, a partial one until completeAt.
	partialAt, completeAt time.Time
}
