package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/voicedr/voicedr/internal/region"
)

// Kind is the class of a failed Twilio call: what the caller should do next.
// A Kind is itself an error, so errors.Is(err, twilio.KindNotFound) works on
// any error Classify returned, however it was wrapped since.
type Kind int

// Kinds of failure.
const (
	// KindUnknown is anything not recognised below (e.g. a response the SDK
	// could not decode).
	KindUnknown Kind = iota
	// KindAuth: Twilio (or twilio-go, locally) rejected the credentials.
	KindAuth
	// KindNotFound: the resource does not exist in this region (for
	// routing, 404 means "never set, so us1").
	KindNotFound
	// KindRateLimited: still 429 after the retries.
	KindRateLimited
	// KindUnavailable: 5xx, connection failures, timeouts: the region or the
	// path to it is in trouble.
	KindUnavailable
	// KindInvalid: any other 4xx: the request is wrong and will stay wrong.
	KindInvalid
	// KindCanceled: the caller's context was cancelled or its deadline
	// passed.
	KindCanceled
)

var kindNames = [...]string{"unknown error", "auth rejected", "not found", "rate limited", "unavailable", "invalid request", "canceled"}

// String names the kind.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error makes Kind usable as an errors.Is target.
func (k Kind) Error() string { return k.String() }

// Error is a classified failure of a Twilio call in one region. Its text
// says what happened and what to do; it never holds a credential.
type Error struct {
	Kind   Kind
	Region region.Region
	// Op names the call: the SDK method ("ListIncomingPhoneNumber",
	// "UpdatePhoneNumber", "FetchAccount") or "METHOD /path".
	Op string
	// Status is the HTTP status, 0 when no response was received.
	Status int
	// Code, Message and MoreInfo are Twilio's error fields, when present.
	Code     int
	Message  string
	MoreInfo string
	// Err is the underlying error (*client.TwilioRestError, a network or
	// context error).
	Err error
	// AuthToken is true when the call authenticated with the account SID
	// and auth token rather than an API key (set by Client.Classify).
	AuthToken bool
}

// Unwrap returns the underlying error, so errors.Is(err, context.Canceled)
// and errors.As(err, **client.TwilioRestError) see through.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// Temporary reports whether the same call may succeed later unchanged.
func (e *Error) Temporary() bool { return e.Kind == KindRateLimited || e.Kind == KindUnavailable }

// Local credential checks of twilio-go (client.validateCredentials).
const (
	codeBadUsername = 21222
	codeBadPassword = 21224
)

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	switch {
	case e.Kind == KindAuth && (e.Code == codeBadUsername || e.Code == codeBadPassword) && e.Status == 400:
		fmt.Fprintf(&b, "twilio-go refused the %s credentials before sending (%d): key SIDs, key secrets and auth tokens hold only letters and digits; check the values the %s profile's references point at",
			e.Region, e.Code, e.Region)
		return b.String()
	case e.Kind == KindAuth:
		use := "a key created in " + string(e.Region)
		if e.AuthToken {
			use = "the auth token of " + string(e.Region)
		}
		fmt.Fprintf(&b, "twilio rejected the %s credentials (%s): API keys and auth tokens are region-specific; use %s",
			e.Region, e.codeOrStatus(), use)
		if !e.AuthToken && touchesAccountsOrKeys(e.Op) {
			b.WriteString("; Standard API keys cannot use /Accounts or /Keys: use a Main key or the auth token for this call")
		}
	case e.Kind == KindCanceled:
		fmt.Fprintf(&b, "twilio %s call canceled", e.Region)
	default:
		fmt.Fprintf(&b, "twilio %s %s", e.Region, e.Kind)
		if e.Status != 0 {
			fmt.Fprintf(&b, " (%s)", e.codeOrStatus())
		}
	}
	switch {
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.Err != nil && e.Status == 0:
		b.WriteString(": " + e.Err.Error())
	}
	if e.MoreInfo != "" {
		b.WriteString(" (more info: " + e.MoreInfo + ")")
	}
	return b.String()
}

func (e *Error) codeOrStatus() string {
	switch {
	case e.Kind == KindAuth && e.Code != 0:
		return fmt.Sprint(e.Code)
	case e.Code != 0:
		return fmt.Sprintf("http %d, code %d", e.Status, e.Code)
	}
	return fmt.Sprintf("http %d", e.Status)
}

// Classify turns an error from a twilio-go call into an *Error naming the
// region and op. nil stays nil and an *Error is returned unchanged.
func Classify(r region.Region, op string, err error) error {
	if e := classify(r, op, err); e != nil {
		return e
	}
	return err
}

// classify returns a new *Error, or nil when err is nil or already one.
func classify(r region.Region, op string, err error) *Error {
	var already *Error
	if err == nil || errors.As(err, &already) {
		return nil
	}
	e := &Error{Region: r, Op: op, Err: err}
	var rest *client.TwilioRestError
	var v1 *client.RestErrorV1
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.Kind = KindCanceled
	case errors.As(err, &rest):
		e.Status, e.Code, e.Message, e.MoreInfo = rest.Status, rest.Code, rest.Message, rest.MoreInfo
		e.Kind = kindFor(e.Status, e.Code)
	case errors.As(err, &v1):
		e.Status, e.Code, e.Message = v1.HttpStatusCode, v1.Code, v1.Message
		e.Kind = kindFor(e.Status, e.Code)
	case isNetworkError(err):
		e.Kind = KindUnavailable
	}
	return e
}

// KindOf returns the Kind of a classified error, KindUnknown otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

func kindFor(status, code int) Kind {
	switch {
	case status == 401 || status == 403 || code == 20003 || code == 20005 ||
		code == codeBadUsername || code == codeBadPassword:
		return KindAuth
	case status == 404 || code == 20404:
		return KindNotFound
	case status == 429 || code == 20429:
		return KindRateLimited
	case status >= 500:
		return KindUnavailable
	case status >= 400:
		return KindInvalid
	}
	return KindUnknown
}

func isNetworkError(err error) bool {
	var ne net.Error
	var te *attemptTimeoutError
	return errors.As(err, &ne) || errors.As(err, &te) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

var accountPathRe = regexp.MustCompile(`(?i)/accounts(/ac[0-9a-f]{32})?(\.json)?$`)

// touchesAccountsOrKeys guesses from op whether the call used /Accounts or
// /Keys, the resources a Standard API key may not use: an SDK method name on
// Account or Key ("FetchAccount", "ListKey", "CreateNewKey") or a path.
func touchesAccountsOrKeys(op string) bool {
	lower := strings.ToLower(op)
	if fields := strings.Fields(lower); len(fields) > 0 && strings.Contains(fields[len(fields)-1], "/") {
		path, _, _ := strings.Cut(fields[len(fields)-1], "?")
		return strings.Contains(path, "/keys") || accountPathRe.MatchString(path)
	}
	return strings.HasSuffix(lower, "account") || strings.HasSuffix(lower, "accounts") || strings.Contains(lower, "key")
}
