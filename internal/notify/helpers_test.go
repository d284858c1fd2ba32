package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/notify"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/workbook"
)

// request is what a receiver saw.
type request struct {
	Method, Path, RawQuery, ContentType string
	Body                                map[string]any
}

// receiver is a real HTTP endpoint that records requests and answers with
// answer (200 when nil).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []request
	answer func(n int, w http.ResponseWriter, r *http.Request) // n counts from 1
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("receiver: body is not a JSON object: %v: %s", err, b)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), body})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w, r)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.got...)
}

// syncBuffer is a log sink safe for the workers' concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sleeper records the waits asked for and never waits.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) Waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fixture is a Notifier wired to in-memory environment, logs and sleep.
type fixture struct {
	n     *notify.Notifier
	env   map[string]string
	logs  *syncBuffer
	sleep *sleeper
}

// newFixture builds a notifier whose targets read their URLs from env
// variables: target i of typ with url urls[i] is env:URL_<name>.
func newFixture(t *testing.T, targets ...target) *fixture {
	t.Helper()
	f := &fixture{env: map[string]string{}, logs: &syncBuffer{}, sleep: &sleeper{}}
	var wb []workbook.Notification
	for _, tg := range targets {
		f.env["URL_"+tg.name] = tg.url
		wb = append(wb, workbook.Notification{Name: tg.name, Type: tg.typ, URL: region.EnvRef("URL_" + tg.name)})
	}
	f.n = &notify.Notifier{
		Targets:  wb,
		Getenv:   func(k string) string { return f.env[k] },
		ReadFile: func(string) ([]byte, error) { return nil, io.ErrUnexpectedEOF },
		Logger:   slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Retry:    notify.Retry{Attempts: 5, Base: time.Second, Max: 8 * time.Second},
		Now:      func() time.Time { return at },
		Sleep:    f.sleep.Sleep,
	}
	return f
}

type target struct{ name, typ, url string }

// run starts the notifier, notifies msgs and closes it, failing the test
// if Close reports undelivered messages.
func (f *fixture) run(t *testing.T, msgs ...notify.Message) {
	t.Helper()
	f.n.Start(t.Context())
	for _, m := range msgs {
		f.n.Notify(m)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := f.n.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// sample is a message with every field set.
func sample() notify.Message {
	return notify.Message{
		Event:      "decision.detection",
		Severity:   "critical",
		Summary:    "Inbound volume on support-line fell 92% in us1 <detect>",
		Flow:       "support-line",
		DecisionID: "dec-7",
		RunID:      "run-3",
		Fields:     map[string]string{"trigger": "inbound_drop", "region": "us1"},
		Link:       "https://voicedr.example/decisions/dec-7",
		AuditHead:  &notify.AuditHead{Seq: 42, Hash: "sha256:abc", KeyID: "k1", Signature: "c2lnbmF0dXJl"},
		DedupKey:   "dec-7",
		At:         at,
	}
}
