package twilio_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twilio/twilio-go/client"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

func TestClassifyHTTPErrors(t *testing.T) {
	tests := []struct {
		name    string
		op      string
		respond func(w http.ResponseWriter)
		want    twilio.Error
		// wantText lists substrings of Error().
		wantText []string
		// notText lists substrings Error() must not contain.
		notText []string
	}{{
		name:    "401 auth",
		op:      "ListIncomingPhoneNumber",
		respond: func(w http.ResponseWriter) { writeTwilioError(w, 401, 20003, "Authenticate") },
		want: twilio.Error{Kind: twilio.KindAuth, Region: region.IE1, Op: "ListIncomingPhoneNumber", Status: 401, Code: 20003,
			Message: "Authenticate", MoreInfo: "https://www.twilio.com/docs/errors/20003"},
		wantText: []string{"ListIncomingPhoneNumber: twilio rejected the ie1 credentials (20003): API keys and auth tokens are region-specific; use a key created in ie1"},
		notText:  []string{"Standard API keys"},
	}, {
		name:     "403 on accounts with a standard key",
		op:       "FetchAccount",
		respond:  func(w http.ResponseWriter) { writeTwilioError(w, 403, 20003, "Permission Denied") },
		want:     twilio.Error{Kind: twilio.KindAuth, Region: region.IE1, Op: "FetchAccount", Status: 403, Code: 20003, Message: "Permission Denied", MoreInfo: "https://www.twilio.com/docs/errors/20003"},
		wantText: []string{"twilio rejected the ie1 credentials (20003)", "Standard API keys cannot use /Accounts or /Keys"},
	}, {
		name:     "404",
		op:       "FetchPhoneNumber",
		respond:  func(w http.ResponseWriter) { writeTwilioError(w, 404, 20404, "The requested resource was not found") },
		want:     twilio.Error{Kind: twilio.KindNotFound, Region: region.IE1, Op: "FetchPhoneNumber", Status: 404, Code: 20404, Message: "The requested resource was not found", MoreInfo: "https://www.twilio.com/docs/errors/20404"},
		wantText: []string{"FetchPhoneNumber: twilio ie1 not found (http 404, code 20404): The requested resource was not found (more info: https://www.twilio.com/docs/errors/20404)"},
	}, {
		name:     "429 after retries",
		op:       "UpdatePhoneNumber",
		respond:  func(w http.ResponseWriter) { writeTwilioError(w, 429, 20429, "Too Many Requests") },
		want:     twilio.Error{Kind: twilio.KindRateLimited, Region: region.IE1, Op: "UpdatePhoneNumber", Status: 429, Code: 20429, Message: "Too Many Requests", MoreInfo: "https://www.twilio.com/docs/errors/20429"},
		wantText: []string{"rate limited (http 429, code 20429)"},
	}, {
		name:    "503",
		op:      "CreateCall",
		respond: func(w http.ResponseWriter) { writeTwilioError(w, 503, 20503, "Service Unavailable") },
		want:    twilio.Error{Kind: twilio.KindUnavailable, Region: region.IE1, Op: "CreateCall", Status: 503, Code: 20503, Message: "Service Unavailable", MoreInfo: "https://www.twilio.com/docs/errors/20503"},
	}, {
		name:    "400",
		op:      "UpdateIncomingPhoneNumber",
		respond: func(w http.ResponseWriter) { writeTwilioError(w, 400, 21211, "Invalid 'To' Phone Number") },
		want:    twilio.Error{Kind: twilio.KindInvalid, Region: region.IE1, Op: "UpdateIncomingPhoneNumber", Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number", MoreInfo: "https://www.twilio.com/docs/errors/21211"},
	}, {
		name: "502 without a Twilio body",
		op:   "CreateIncomingPhoneNumber",
		respond: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			io.WriteString(w, "<html>bad gateway</html>")
		},
		want: twilio.Error{Kind: twilio.KindUnavailable, Region: region.IE1, Op: "CreateIncomingPhoneNumber", Status: 502,
			Message: "HTTP 502 Bad Gateway without a Twilio error body"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeTwilio(t, func(w http.ResponseWriter, _ *http.Request, _ int) bool { tt.respond(w); return true })
			p, _, _ := testPool(t, srv, twilio.Options{Retry: twilio.RetryPolicy{MaxAttempts: 2}})
			c := testClient(t, p, keyProfile(region.IE1))
			_, err := c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil)
			err = c.Classify(tt.op, err)

			var got *twilio.Error
			if !errors.As(err, &got) {
				t.Fatalf("Classify returned %T (%v), want *twilio.Error", err, err)
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(twilio.Error{}, "Err")); diff != "" {
				t.Errorf("classified error (-want +got):\n%s", diff)
			}
			if !errors.Is(err, tt.want.Kind) {
				t.Errorf("errors.Is(err, %v) = false", tt.want.Kind)
			}
			var rest *client.TwilioRestError
			if !errors.As(err, &rest) || rest.Status != tt.want.Status {
				t.Errorf("errors.As(err, *client.TwilioRestError) = %v, want status %d", rest, tt.want.Status)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Error() = %q, want it to contain %q", err.Error(), s)
				}
			}
			for _, s := range tt.notText {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Error() = %q, want it not to contain %q", err.Error(), s)
				}
			}
		})
	}
}

// TestLocalCredentialRejection: twilio-go refuses non-alphanumeric
// credentials before sending; that is an auth error, not a panic.
func TestLocalCredentialRejection(t *testing.T) {
	srv := newFakeTwilio(t, nil)
	p, _, _ := testPool(t, srv, twilio.Options{})
	prof := keyProfile(region.AU1)
	prof.APISecret = region.NewSecret("has-dashes+and/slashes")
	c := testClient(t, p, prof)
	_, err := c.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil)
	err = c.Classify("FetchIncomingPhoneNumber", err)
	if !errors.Is(err, twilio.KindAuth) {
		t.Fatalf("err = %v, want KindAuth", err)
	}
	for _, want := range []string{"refused the au1 credentials before sending (21224)", "letters and digits"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Error() = %q, want it to contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "has-dashes") {
		t.Errorf("Error() = %q reveals the secret", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestClassifyNonHTTP(t *testing.T) {
	if err := twilio.Classify(region.US1, "x", nil); err != nil {
		t.Errorf("Classify(nil) = %v, want nil", err)
	}
	canceled := twilio.Classify(region.US1, "ListCall", context.Canceled)
	if !errors.Is(canceled, twilio.KindCanceled) || !errors.Is(canceled, context.Canceled) {
		t.Errorf("Classify(context.Canceled) = %v, want KindCanceled wrapping context.Canceled", canceled)
	}
	if again := twilio.Classify(region.IE1, "other", canceled); again != canceled {
		t.Errorf("Classify(*Error) = %v, want it unchanged", again)
	}
	deadline := twilio.Classify(region.US1, "ListCall", context.DeadlineExceeded)
	if twilio.KindOf(deadline) != twilio.KindCanceled {
		t.Errorf("KindOf(deadline) = %v, want %v", twilio.KindOf(deadline), twilio.KindCanceled)
	}
	if got := twilio.KindOf(errors.New("plain")); got != twilio.KindUnknown {
		t.Errorf("KindOf(plain) = %v, want %v", got, twilio.KindUnknown)
	}
	if got := twilio.KindOf(twilio.Classify(region.US1, "x", io.ErrUnexpectedEOF)); got != twilio.KindUnavailable {
		t.Errorf("KindOf(unexpected EOF) = %v, want %v", got, twilio.KindUnavailable)
	}
}

func TestErrorTemporary(t *testing.T) {
	for k, want := range map[twilio.Kind]bool{
		twilio.KindRateLimited: true, twilio.KindUnavailable: true,
		twilio.KindAuth: false, twilio.KindNotFound: false, twilio.KindInvalid: false, twilio.KindCanceled: false,
	} {
		if got := (&twilio.Error{Kind: k}).Temporary(); got != want {
			t.Errorf("Error{Kind: %v}.Temporary() = %v, want %v", k, got, want)
		}
	}
}
