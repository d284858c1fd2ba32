package twilio_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	apiv2010 "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilio"
)

// lockedBuffer lets concurrent log handlers share one buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoSecretsInLogsOrErrors drives the failures an operator would read
// about — credentials rejected, 5xx exhaustion, connection refused, a
// cancelled call, a credential twilio-go refuses — with debug logging on,
// and checks that neither the key secret nor the auth token (plain or in a
// Basic auth header) appears in any log line or error text.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	textLogger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var texts []string
	record := func(err error) {
		texts = append(texts, err.Error(), fmt.Sprintf("%v|%+v|%#v|%q", err, err, err, err))
		logger.Error("call failed", "err", err)
		textLogger.Error("call failed", "err", err)
	}

	srv := newFakeTwilio(t, func(w http.ResponseWriter, r *http.Request, _ int) bool {
		switch {
		case strings.HasSuffix(r.URL.Path, "/Auth.json"):
			writeTwilioError(w, 401, 20003, "Authenticate")
		case strings.Contains(r.URL.Path, "/Down/"):
			writeTwilioError(w, 503, 20503, "Service Unavailable")
		case strings.Contains(r.URL.Path, "/Hang/"):
			<-r.Context().Done()
		default:
			return false
		}
		return true
	})
	p, _, _ := testPool(t, srv, twilio.Options{Logger: logger})
	keyClient := testClient(t, p, keyProfile(region.IE1))
	tokenClient := testClient(t, p, tokenProfile(region.AU1))

	for _, c := range []*twilio.Client{keyClient, tokenClient} {
		ctx := t.Context()
		textLogger.Debug("client", "client", c, "token", c.AuthToken())
		texts = append(texts, fmt.Sprintf("%v %+v %s", c, c, c.AuthToken()))

		// Credentials rejected, on a path touching /Accounts.
		_, err := c.API(ctx).FetchAccount("Auth")
		record(c.Classify("FetchAccount", err))
		// 5xx until the retries run out.
		_, err = c.API(ctx).FetchIncomingPhoneNumber("Down", (&apiv2010.FetchIncomingPhoneNumberParams{}).SetPathAccountSid("Down/x"))
		record(c.Classify("FetchIncomingPhoneNumber", err))
		// Cancelled while the server hangs.
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			waitFor(t, "the hanging request", func() bool {
				for _, r := range srv.Requests() {
					if strings.Contains(r.Path, "/Hang/"+string(c.Region())+"/") {
						return true
					}
				}
				return false
			})
			cancel()
		}()
		_, err = c.API(cctx).FetchIncomingPhoneNumber("Hang", (&apiv2010.FetchIncomingPhoneNumberParams{}).SetPathAccountSid("Hang/"+string(c.Region())))
		record(c.Classify("FetchIncomingPhoneNumber", err))
	}

	// Connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dead, _, _ := testPool(t, nil, twilio.Options{Endpoint: "http://" + addr, Logger: logger})
	for _, prof := range []region.Resolved{keyProfile(region.US1), tokenProfile(region.US1)} {
		c := testClient(t, dead, prof)
		_, err := c.Routes(t.Context()).FetchPhoneNumber("+15550100001")
		record(c.Classify("FetchPhoneNumber", err))
	}

	// A secret twilio-go refuses locally; it must not be echoed either.
	odd := keyProfile(region.IE1)
	odd.APISecret = region.NewSecret(testSecret + "-x")
	oc := testClient(t, p, odd)
	_, err = oc.API(t.Context()).FetchIncomingPhoneNumber(testNumber, nil)
	record(oc.Classify("FetchIncomingPhoneNumber", err))

	all := strings.Join(texts, "\n") + "\n" + logs.String()
	if !strings.Contains(logs.String(), `"msg":"twilio request"`) {
		t.Fatalf("no debug request lines were logged; the test would prove nothing:\n%s", logs.String())
	}
	basic := func(u, p string) string { return base64.StdEncoding.EncodeToString([]byte(u + ":" + p)) }
	for name, secret := range map[string]string{
		"key secret":        testSecret,
		"auth token":        testToken,
		"key basic auth":    basic(testKey, testSecret),
		"token basic auth":  basic(testAccount, testToken),
		"authorization hdr": "Basic ",
	} {
		if strings.Contains(all, secret) {
			t.Errorf("the %s appears in logs or errors:\n%s", name, all)
		}
	}
}
