package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/workbook"
)

// received is one request an endpoint saw.
type received struct {
	Method, ContentType, UserAgent, Key, Path string
	Body                                      hookBody
}

type hookBody struct {
	RunID   string `json:"run_id"`
	Flow    string `json:"flow"`
	Cohort  string `json:"cohort"`
	When    string `json:"when"`
	From    string `json:"from"`
	To      string `json:"to"`
	Attempt int    `json:"attempt"`
	Hook    string `json:"hook"`
}

// endpoint is a loopback HTTPS server that records requests and answers
// with the status and body answer returns.
type endpoint struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
}

func newEndpoint(t *testing.T, answer func(r *http.Request) (int, string)) *endpoint {
	t.Helper()
	e := &endpoint{}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b hookBody
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Errorf("endpoint: body %q is not JSON: %v", raw, err)
		}
		e.mu.Lock()
		e.got = append(e.got, received{
			Method: r.Method, ContentType: r.Header.Get("Content-Type"), UserAgent: r.Header.Get("User-Agent"),
			Key: r.Header.Get("Idempotency-Key"), Path: r.URL.RequestURI(), Body: b,
		})
		e.mu.Unlock()
		status, text := answer(r)
		if loc := r.URL.Query().Get("redirect"); loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(status)
		io.WriteString(w, text)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) requests() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]received(nil), e.got...)
}

func httpHook(url string) workbook.Hook {
	return workbook.Hook{
		Name: "app-switch", Type: "http", When: "after_flip", URL: url,
		Timeout: workbook.Duration(10 * time.Second), Idempotent: true,
	}
}

var call = hooks.Call{RunID: "run-1", Flow: "support", Cohort: "test-numbers", From: "us1", To: "ie1", Attempt: 1}

func TestHTTPSuccessSendsContext(t *testing.T) {
	e := newEndpoint(t, func(*http.Request) (int, string) { return http.StatusAccepted, "switched to ie1" })
	r := &hooks.Runner{HTTP: e.srv.Client()}

	res, err := r.Run(t.Context(), httpHook(e.srv.URL+"/switch"), call)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	res.Elapsed = 0
	want := hooks.Result{Hook: "app-switch", When: "after_flip", OK: true, Status: 202, Output: "switched to ie1"}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	wantReq := []received{{
		Method: "POST", ContentType: "application/json", UserAgent: "voicedr",
		Key: "run-1/test-numbers/app-switch/after_flip", Path: "/switch",
		Body: hookBody{RunID: "run-1", Flow: "support", Cohort: "test-numbers", When: "after_flip", From: "us1", To: "ie1", Attempt: 1, Hook: "app-switch"},
	}}
	if diff := cmp.Diff(wantReq, e.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestHTTPNon2xxFails(t *testing.T) {
	for _, status := range []int{http.StatusFound, http.StatusNotFound, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newEndpoint(t, func(*http.Request) (int, string) { return status, "region context busy" })
			r := &hooks.Runner{HTTP: e.srv.Client()}
			// For 302 the Location points back at the endpoint: following it
			// would turn the POST into a GET that answers 302 again.
			res, err := r.Run(t.Context(), httpHook(e.srv.URL+"/switch?redirect=/elsewhere"), call)
			if err == nil {
				t.Fatalf("Run: got nil error, want one for HTTP %d", status)
			}
			for _, s := range []string{`"app-switch"`, strconv.Itoa(status)} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if res.OK || res.Status != status || res.Output != "region context busy" || res.Err != err.Error() {
				t.Errorf("result = %+v, want OK false, status %d, the body as output and the error text", res, status)
			}
			if n := len(e.requests()); n != 1 {
				t.Errorf("endpoint saw %d requests, want 1 (redirects are not followed)", n)
			}
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	e := newEndpoint(t, func(r *http.Request) (int, string) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return http.StatusOK, "too late"
	})
	t.Cleanup(func() { close(release) }) // runs before e.srv.Close
	r := &hooks.Runner{HTTP: e.srv.Client()}
	h := httpHook(e.srv.URL)
	h.Timeout = workbook.Duration(200 * time.Millisecond)

	res, err := r.Run(t.Context(), h, call)
	if !errors.Is(err, hooks.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: error %v, want ErrTimeout and context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), `"app-switch"`) || !strings.Contains(err.Error(), "200ms") {
		t.Errorf("error %q should name the hook and its timeout", err)
	}
	if res.OK {
		t.Errorf("result OK = true for a timed-out hook")
	}
}

func TestHTTPCanceledByCallerIsNotATimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	release := make(chan struct{})
	e := newEndpoint(t, func(r *http.Request) (int, string) {
		cancel() // the run is stopped while the hook is in flight
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return http.StatusOK, ""
	})
	t.Cleanup(func() { close(release) })
	r := &hooks.Runner{HTTP: e.srv.Client()}

	_, err := r.Run(ctx, httpHook(e.srv.URL), call)
	if !errors.Is(err, context.Canceled) || errors.Is(err, hooks.ErrTimeout) {
		t.Fatalf("Run: error %v, want context.Canceled and not ErrTimeout", err)
	}
}

func TestIdempotencyKeyStableAcrossAttempts(t *testing.T) {
	e := newEndpoint(t, func(*http.Request) (int, string) { return http.StatusOK, "" })
	r := &hooks.Runner{HTTP: e.srv.Client()}
	h := httpHook(e.srv.URL)
	for attempt := 1; attempt <= 3; attempt++ {
		c := call
		c.Attempt = attempt
		if _, err := r.Run(t.Context(), h, c); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}
	other := call
	other.Cohort = "low-risk"
	if _, err := r.Run(t.Context(), h, other); err != nil {
		t.Fatal(err)
	}

	var keys []string
	var attempts []int
	for _, q := range e.requests() {
		keys = append(keys, q.Key)
		attempts = append(attempts, q.Body.Attempt)
	}
	same := "run-1/test-numbers/app-switch/after_flip"
	if diff := cmp.Diff([]string{same, same, same, "run-1/low-risk/app-switch/after_flip"}, keys); diff != "" {
		t.Errorf("idempotency keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2, 3, 1}, attempts); diff != "" {
		t.Errorf("attempts in body (-want +got):\n%s", diff)
	}
}

// The tokens a secret hook URL carries, in its path and its query.
const (
	pathToken  = "T0KENPATHSECRET123"
	queryToken = "QUERYSECRET456789"
)

func TestSecretURLNeverShown(t *testing.T) {
	// The endpoint echoes the URL it was called at, as error pages do, in
	// plain text and in JSON (which escapes & and /).
	echo := func(status int) func(r *http.Request) (int, string) {
		return func(r *http.Request) (int, string) {
			j, _ := json.Marshal(map[string]string{"url": "https://" + r.Host + r.URL.RequestURI()})
			return status, "called at https://" + r.Host + r.URL.RequestURI() + " " + string(j)
		}
	}
	for _, tc := range []struct {
		name   string
		status int
		ref    string
	}{
		{"env ok", http.StatusOK, "env:CRM_HOOK_URL"},
		{"env failing", http.StatusInternalServerError, "env:CRM_HOOK_URL"},
		{"file failing", http.StatusBadGateway, "file:/secrets/crm-hook-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, echo(tc.status))
			secretURL := e.srv.URL + "/hooks/" + pathToken + "?token=" + queryToken + "&v=1"
			var logs bytes.Buffer
			r := &hooks.Runner{
				HTTP:     e.srv.Client(),
				Getenv:   fakeEnv(map[string]string{"CRM_HOOK_URL": secretURL}),
				ReadFile: fakeFiles(map[string]string{"/secrets/crm-hook-url": secretURL + "\n"}),
				Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
			}
			res, err := r.Run(t.Context(), httpHook(tc.ref), call)
			if (err == nil) != (tc.status == http.StatusOK) {
				t.Fatalf("Run: error %v for HTTP %d", err, tc.status)
			}
			got := e.requests()
			if len(got) != 1 || got[0].Path != "/hooks/"+pathToken+"?token="+queryToken+"&v=1" {
				t.Fatalf("endpoint saw %+v, want one request at the resolved URL", got)
			}
			if !strings.Contains(logs.String(), "hook=app-switch") {
				t.Errorf("log does not name the hook:\n%s", logs.String())
			}
			assertNoSecret(t, err, &logs, res, secretURL)
		})
	}
}

func TestSecretURLTransportErrorNotShown(t *testing.T) {
	// A port nothing listens on: the client's error would quote the URL.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	secretURL := "http://" + addr + "/hooks/" + pathToken + "?token=" + queryToken
	var logs bytes.Buffer
	r := &hooks.Runner{
		Getenv: fakeEnv(map[string]string{"CRM_HOOK_URL": secretURL}),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	res, err := r.Run(t.Context(), httpHook("env:CRM_HOOK_URL"), call)
	if err == nil {
		t.Fatal("Run: got nil error calling a closed port")
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("error %v does not keep the network error in its chain", err)
	}
	assertNoSecret(t, err, &logs, res, secretURL)
}

func TestUnresolvableReference(t *testing.T) {
	r := &hooks.Runner{Getenv: fakeEnv(nil)}
	_, err := r.Run(t.Context(), httpHook("env:CRM_HOOK_URL"), call)
	if err == nil || !strings.Contains(err.Error(), "export CRM_HOOK_URL") {
		t.Fatalf("Run: error %v, want one telling to export CRM_HOOK_URL", err)
	}

	r = &hooks.Runner{Getenv: fakeEnv(map[string]string{"CRM_HOOK_URL": "s3cr3t-not-a-url"})}
	_, err = r.Run(t.Context(), httpHook("env:CRM_HOOK_URL"), call)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "env:CRM_HOOK_URL") {
		t.Fatalf("Run: error %v, want one naming env:CRM_HOOK_URL and not its value", err)
	}
}

func TestInlineURLLoggedWithoutQuery(t *testing.T) {
	e := newEndpoint(t, func(*http.Request) (int, string) { return http.StatusOK, "" })
	var logs bytes.Buffer
	r := &hooks.Runner{HTTP: e.srv.Client(), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	if _, err := r.Run(t.Context(), httpHook(e.srv.URL+"/switch?sig=abcdef0123456789"), call); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "url="+e.srv.URL+"/switch") || strings.Contains(logs.String(), "abcdef0123456789") {
		t.Errorf("log should show the URL without its query:\n%s", logs.String())
	}
}

func TestOutputBoundedAndSecretNotSplit(t *testing.T) {
	// The token straddles the 2 KiB cut: no prefix of it may survive.
	e := newEndpoint(t, func(*http.Request) (int, string) {
		return http.StatusInternalServerError, strings.Repeat("a", 2040) + pathToken + strings.Repeat("b", 5000)
	})
	r := &hooks.Runner{
		HTTP:   e.srv.Client(),
		Getenv: fakeEnv(map[string]string{"CRM_HOOK_URL": e.srv.URL + "/hooks/" + pathToken}),
	}
	res, _ := r.Run(t.Context(), httpHook("env:CRM_HOOK_URL"), call)
	if len(res.Output) > 2048 || strings.Contains(res.Output, pathToken[:6]) {
		t.Errorf("output is %d bytes ending %q, want at most 2048 and no piece of the token", len(res.Output), res.Output[max(0, len(res.Output)-30):])
	}
	if !strings.HasPrefix(res.Output, strings.Repeat("a", 2040)) {
		t.Errorf("output lost the text before the token")
	}
}

func assertNoSecret(t *testing.T, err error, logs *bytes.Buffer, res hooks.Result, secretURL string) {
	t.Helper()
	j, _ := json.Marshal(res)
	for where, text := range map[string]string{"error": errString(err), "log": logs.String(), "result": string(j)} {
		for _, secret := range []string{secretURL, pathToken, queryToken} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows %q:\n%s", where, secret, text)
			}
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func fakeEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func fakeFiles(m map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		v, ok := m[p]
		if !ok {
			return nil, errors.New("open " + p + ": no such file or directory")
		}
		return []byte(v), nil
	}
}
