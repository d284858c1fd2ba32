package twilioemu_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"

	"github.com/voicedr/voicedr/internal/oasjudge"
	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// judgedInSuite records every operation whose success response some test
// judged; TestMain fails the suite when an emulated operation was never judged.
var judgedInSuite sync.Map

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.bench").Value.String() == "" {
		var missing []string
		for _, op := range twilioemu.New(twilioemu.Options{}).Operations() {
			if _, ok := judgedInSuite.Load(op); !ok {
				missing = append(missing, op)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %d emulated operations were never exercised through twilio-go and judged against the OpenAPI specs:\n  %s\n",
				len(missing), strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

var (
	judgeOnce sync.Once
	judge     *oasjudge.Judge
	judgeErr  error
)

func loadJudge(t testing.TB) *oasjudge.Judge {
	t.Helper()
	judgeOnce.Do(func() {
		dir, err := oasjudge.SpecDir()
		if err != nil {
			judgeErr = err
			return
		}
		judge, judgeErr = oasjudge.Load(dir)
	})
	if judgeErr != nil {
		t.Fatalf("load OpenAPI judge: %v", judgeErr)
	}
	return judge
}

// harness runs an emulator on real loopback HTTP and builds twilio-go clients
// whose every response is judged against Twilio's OpenAPI specs.
type harness struct {
	t     testing.TB
	emu   *twilioemu.Emulator
	srv   *httptest.Server
	judge *oasjudge.Judge
	creds map[region.Region]twilioemu.RegionCredentials

	mu     sync.Mutex
	judged map[string]int // operation → responses judged
}

func newHarness(t testing.TB, opts twilioemu.Options) *harness {
	t.Helper()
	emu := twilioemu.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); srv.Close() })
	return &harness{t: t, emu: emu, srv: srv, judge: loadJudge(t), creds: emu.Credentials(), judged: map[string]int{}}
}

// client is a twilio-go client for a region with its Standard key, region
// and edge set explicitly as voicedr does.
func (h *harness) client(r region.Region) *twilio.RestClient {
	c := h.creds[r]
	return h.clientAs(r, c.Standard.SID, c.Standard.Secret)
}

// mainClient uses the region's Main key (for /Accounts and /Keys).
func (h *harness) mainClient(r region.Region) *twilio.RestClient {
	c := h.creds[r]
	return h.clientAs(r, c.Main.SID, c.Main.Secret)
}

func (h *harness) clientAs(r region.Region, user, pass string) *twilio.RestClient {
	hc := &http.Client{
		Transport:     &judgingTransport{h: h},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	bc := &client.Client{Credentials: client.NewCredentials(user, pass), HTTPClient: hc}
	bc.SetAccountSid(h.emu.AccountSID())
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: bc})
	rc.SetRegion(string(r))
	rc.SetEdge(r.HomeEdge())
	return rc
}

// judgingTransport sends *.twilio.com requests to the emulator, keeping the
// Host header, and judges each response body.
type judgingTransport struct{ h *harness }

func (jt *judgingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := jt.h
	target, _ := url.Parse(h.srv.URL)
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme, out.URL.Host = target.Scheme, target.Host
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	hi, _ := region.ParseHost(req.URL.Host)
	if err := h.judgeResponse(hi.Product, req.Method, req.URL.EscapedPath(), resp.StatusCode, body); err != nil {
		h.t.Errorf("%s %s%s → %d: %v", req.Method, req.URL.Host, req.URL.Path, resp.StatusCode, err)
	}
	return resp, nil
}

// judgeResponse holds successes to the OpenAPI spec and errors to Twilio's
// error shape.
func (h *harness) judgeResponse(product, method, path string, status int, body []byte) error {
	if status >= 400 {
		return checkErrorBody(body, status)
	}
	op, err := h.judge.Operation(product, method, path)
	if err != nil {
		return err
	}
	if err := h.judge.Check(product, method, path, status, body); err != nil {
		return err
	}
	h.mu.Lock()
	h.judged[op]++
	h.mu.Unlock()
	judgedInSuite.Store(product+"."+op, true)
	return nil
}

// checkErrorBody insists on exactly {code,message,more_info,status}.
func checkErrorBody(body []byte, status int) error {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("error body is not JSON: %q", body)
	}
	for _, k := range []string{"code", "message", "more_info", "status"} {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("error body lacks %q: %s", k, body)
		}
	}
	if len(m) != 4 {
		return fmt.Errorf("error body has extra fields: %s", body)
	}
	if int(m["status"].(float64)) != status {
		return fmt.Errorf("error body status %v differs from HTTP status %d", m["status"], status)
	}
	if !strings.HasPrefix(m["more_info"].(string), "https://www.twilio.com/docs/errors/") {
		return fmt.Errorf("more_info %q", m["more_info"])
	}
	return nil
}

// judgedOps returns how many responses of each operation were judged.
func (h *harness) judgedOps() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.judged))
	for k, v := range h.judged {
		out[k] = v
	}
	return out
}

// restError extracts twilio-go's error for assertions.
func restError(t testing.TB, err error) *client.TwilioRestError {
	t.Helper()
	var te *client.TwilioRestError
	if err == nil {
		t.Fatalf("got no error, want a Twilio REST error")
	}
	if !asRestError(err, &te) {
		t.Fatalf("got %T %v, want *client.TwilioRestError", err, err)
	}
	return te
}
