package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/notify"
)

func TestRetriesThenSucceeds(t *testing.T) {
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	f := newFixture(t, target{"ops", "webhook", rc.srv.URL + "/in"})
	f.run(t, sample())

	if got := len(rc.requests()); got != 3 {
		t.Errorf("got %d requests, want 3 (503, 429, 200)", got)
	}
	waits := f.sleep.Waits()
	if len(waits) != 2 {
		t.Fatalf("got waits %v, want 2", waits)
	}
	// After the 503: full jitter within the first backoff (Base = 1s).
	if waits[0] < 0 || waits[0] > time.Second {
		t.Errorf("wait after 503 = %v, want within [0, 1s]", waits[0])
	}
	// After the 429: exactly what Retry-After asked for.
	if waits[1] != 7*time.Second {
		t.Errorf("wait after 429 = %v, want 7s (Retry-After)", waits[1])
	}
	want := notify.Stats{Sent: 1, ByTarget: map[string]notify.TargetStats{"ops": {Type: "webhook", Sent: 1}}}
	if diff := cmp.Diff(want, f.n.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestBackoffIsCappedAndAttemptsBounded(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	f := newFixture(t, target{"ops", "webhook", rc.srv.URL + "/in"})
	f.n.Retry = notify.Retry{Attempts: 6, Base: time.Second, Max: 4 * time.Second}
	f.run(t, sample())

	if got := len(rc.requests()); got != 6 {
		t.Errorf("got %d requests, want 6 (Attempts)", got)
	}
	waits := f.sleep.Waits()
	ceilings := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	if len(waits) != len(ceilings) {
		t.Fatalf("got %d waits %v, want %d", len(waits), waits, len(ceilings))
	}
	for i, w := range waits {
		if w < 0 || w > ceilings[i] {
			t.Errorf("wait %d = %v, want within [0, %v]", i+1, w, ceilings[i])
		}
	}
	st := f.n.Stats().ByTarget["ops"]
	if st.Failed != 1 || st.Sent != 0 || !strings.Contains(st.LastError, "gave up after 6 attempts") {
		t.Errorf("got stats %+v, want 1 failed with \"gave up after 6 attempts\"", st)
	}
}

func TestClientErrorGivesUpAtOnce(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
	})
	f := newFixture(t, target{"chat", "slack", rc.srv.URL + "/hook"})
	f.run(t, sample())

	if got := len(rc.requests()); got != 1 {
		t.Errorf("got %d requests, want 1", got)
	}
	if w := f.sleep.Waits(); len(w) != 0 {
		t.Errorf("got waits %v, want none", w)
	}
	st := f.n.Stats()
	if st.Failed != 1 || !strings.Contains(st.ByTarget["chat"].LastError, "400 Bad Request: invalid_payload") {
		t.Errorf("got stats %+v, want 1 failed naming the 400 and Slack's reason", st)
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	rc := newReceiver(t, nil)
	dead := rc.srv.URL + "/in"
	rc.srv.Close() // nothing listens there any more: connection refused
	f := newFixture(t, target{"ops", "webhook", dead})
	f.n.Retry.Attempts = 3
	f.run(t, sample())
	if w := f.sleep.Waits(); len(w) != 2 {
		t.Errorf("got waits %v, want 2 (3 attempts)", w)
	}
	if st := f.n.Stats(); st.Failed != 1 {
		t.Errorf("got stats %+v, want 1 failed", st)
	}
}

// blocking is a receiver that holds every request until released.
func blocking(t *testing.T) (rc *receiver, arrived <-chan int, release func()) {
	t.Helper()
	arr := make(chan int, 1024)
	gate := make(chan struct{})
	rc = newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) {
		arr <- n
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	})
	var once bool
	return rc, arr, func() {
		if !once {
			once = true
			close(gate)
		}
	}
}

func TestNotifyNeverBlocksOnAHungReceiver(t *testing.T) {
	rc, arrived, release := blocking(t)
	defer release()
	fast := newReceiver(t, nil)
	f := newFixture(t, target{"hung", "webhook", rc.srv.URL + "/in"}, target{"fast", "webhook", fast.srv.URL + "/in"})
	const size = 8
	f.n.QueueSize = size
	f.n.Start(t.Context())

	msg := func(i int) notify.Message {
		return notify.Message{Event: "run.cohort_committed", Summary: fmt.Sprint(i)}
	}
	f.n.Notify(msg(0))
	<-arrived // the hung target's worker now holds message 0 and waits
	for i := 1; i <= size+10; i++ {
		f.n.Notify(msg(i)) // returns although the receiver never answers
	}
	st := f.n.Stats().ByTarget["hung"]
	if st.Dropped != 10 || st.Queued != size {
		t.Errorf("hung target: got dropped %d queued %d, want dropped 10 queued %d", st.Dropped, st.Queued, size)
	}
	if !strings.Contains(f.logs.String(), "notification dropped") {
		t.Errorf("drops were not logged:\n%s", f.logs)
	}

	release()
	if err := f.n.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The oldest were dropped: the hung target got 0, then the newest size.
	var got []string
	for _, r := range rc.requests() {
		got = append(got, r.Body["summary"].(string))
	}
	want := []string{"0"}
	for i := 11; i <= size+10; i++ {
		want = append(want, fmt.Sprint(i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hung target received (-want +got):\n%s", diff)
	}
	// The other target never waited on the hung one, but its own queue had
	// the same bound; what it did not drop, it delivered.
	fs := f.n.Stats().ByTarget["fast"]
	if fs.Sent+fs.Dropped != size+11 || fs.Sent != int64(len(fast.requests())) {
		t.Errorf("fast target: got %+v and %d requests, want sent+dropped = %d", fs, len(fast.requests()), size+11)
	}
}

func TestCloseDrains(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, target{"ops", "webhook", rc.srv.URL + "/in"})
	f.n.QueueSize = 100
	f.n.Start(t.Context())
	var want []string
	for i := range 50 {
		f.n.Notify(notify.Message{Event: "e", Summary: fmt.Sprint(i)})
		want = append(want, fmt.Sprint(i))
	}
	if err := f.n.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var got []string
	for _, r := range rc.requests() {
		got = append(got, r.Body["summary"].(string))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("received after Close (-want +got):\n%s", diff)
	}
	if st := f.n.Stats(); st.Sent != 50 || st.Dropped != 0 {
		t.Errorf("got stats %+v, want 50 sent, 0 dropped", st)
	}
	// After Close, Notify drops rather than queueing for no one.
	f.n.Notify(notify.Message{Event: "late"})
	if st := f.n.Stats(); st.Dropped != 1 {
		t.Errorf("after Close: got %d dropped, want 1", st.Dropped)
	}
}

func TestCloseDeadlineAbandonsAndSaysHowMany(t *testing.T) {
	rc, arrived, release := blocking(t)
	defer release()
	f := newFixture(t, target{"hung", "webhook", rc.srv.URL + "/in"})
	f.n.Start(t.Context())
	for range 4 {
		f.n.Notify(notify.Message{Event: "e"})
	}
	<-arrived
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // the deadline has already passed
	err := f.n.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "3 queued notifications not delivered") {
		t.Fatalf("Close: got %v, want 3 not delivered", err)
	}
	// Close returned, so the worker has stopped: the in-flight send was
	// cancelled (failed), the 3 queued were dropped.
	if st := f.n.Stats(); st.Failed != 1 || st.Dropped != 3 || st.Sent != 0 {
		t.Errorf("got stats %+v, want failed 1, dropped 3", st)
	}
}

func TestSecretsNeverInLogsOrErrors(t *testing.T) {
	const (
		slackToken = "xoxbSLACKSECRET0123456789"
		hookToken  = "HOOKSECRET0123456789"
		pdKey      = "PDSECRETKEY0123456789"
		deadToken  = "DEADSECRET0123456789"
	)
	// Endpoints that echo the URL they were called on, as some do in errors.
	echo := func(code int) *receiver {
		return newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Error(w, "bad url "+r.URL.String(), code)
		})
	}
	slack, hook, pd := echo(http.StatusNotFound), echo(http.StatusInternalServerError), echo(http.StatusForbidden)
	dead := newReceiver(t, nil)
	deadURL := dead.srv.URL + "/x/" + deadToken
	dead.srv.Close()

	f := newFixture(t,
		target{"chat", "slack", slack.srv.URL + "/services/T0/" + slackToken},
		target{"ops", "webhook", hook.srv.URL + "/in?token=" + hookToken},
		target{"pager", "pagerduty", pd.srv.URL + "/v2/enqueue?routing_key=" + pdKey},
		target{"gone", "webhook", deadURL},
		target{"bad", "webhook", "not a url " + hookToken},
		target{"unset", "slack", ""},
	)
	f.n.Retry.Attempts = 2
	f.n.Start(t.Context())
	f.n.Notify(sample())
	if err := f.n.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	sendErr := f.n.Send(t.Context(), sample())
	if sendErr == nil {
		t.Fatal("Send: got nil error, want every target to fail")
	}

	var texts []string
	texts = append(texts, f.logs.String(), sendErr.Error(), fmt.Sprintf("%+v", f.n.Stats()))
	for _, st := range f.n.Stats().ByTarget {
		if st.LastError == "" {
			t.Errorf("a target has no LastError: %+v", st)
		}
	}
	for _, text := range texts {
		for _, secret := range []string{slackToken, hookToken, pdKey, deadToken} {
			if strings.Contains(text, secret) {
				t.Errorf("secret %s leaked into:\n%s", secret, text)
			}
		}
	}
	// Failures name the target instead.
	for _, name := range []string{`"chat"`, `"ops"`, `"pager"`, `"gone"`, `"bad"`, `"unset"`} {
		if !strings.Contains(sendErr.Error(), name) {
			t.Errorf("Send error does not name target %s:\n%v", name, sendErr)
		}
	}
	if st := f.n.Stats(); st.Failed != 12 || st.Sent != 0 {
		t.Errorf("got stats %+v, want 12 failed (6 targets × Notify and Send)", st)
	}
}
