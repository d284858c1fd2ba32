package twilioemu_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	insights "github.com/twilio/twilio-go/rest/insights/v1"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// v1RawGet sends a GET with the region's Standard key straight to the
// emulator, for query values twilio-go cannot send (it types dates and
// booleans). The response is judged like every other.
func v1RawGet(t *testing.T, h *harness, r region.Region, product, pathQuery string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.srv.URL+pathQuery, nil)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Host = region.Host(product, r, "")
	req.SetBasicAuth(h.creds[r].Standard.SID, h.creds[r].Standard.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", pathQuery, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := h.judgeResponse(product, http.MethodGet, req.URL.EscapedPath(), resp.StatusCode, body); err != nil {
		t.Errorf("GET %s → %d: %v", pathQuery, resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// v1ErrorCode reads the code of a Twilio error body.
func v1ErrorCode(t *testing.T, body []byte) int {
	t.Helper()
	var e struct{ Code int }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Code
}

func TestCallSummariesListIsEmptyAndWellFormedInEveryRegion(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 11})
	for _, r := range region.All {
		c := h.client(r).InsightsV1
		got, err := c.ListCallSummaries(nil)
		if err != nil {
			t.Fatalf("%s list: %v", r, err)
		}
		if len(got) != 0 {
			t.Errorf("%s lists %d summaries of an account with no calls", r, len(got))
		}
		filtered, err := c.ListCallSummaries(new(insights.ListCallSummariesParams).SetFrom("+14155550100").
			SetCallState("completed,fail").SetCallType("carrier").SetHasTag(true).SetStartTime("1d").SetEndTime("0m").
			SetProcessingState("completed").SetSortBy("end_time").SetAbnormalSession(false))
		if err != nil || len(filtered) != 0 {
			t.Errorf("%s filtered list = %v, %v", r, filtered, err)
		}
		// The page size is 25 whatever larger size the client asks for.
		page, err := c.PageCallSummaries(new(insights.ListCallSummariesParams).SetPageSize(50).SetCallType("sip"), "", "")
		if err != nil {
			t.Fatalf("%s page: %v", r, err)
		}
		wantURL := "https://" + region.Host("insights", r, "") + "/v1/Voice/Summaries?CallType=sip&PageSize=25&Page=0"
		if diff := cmp.Diff([]any{25, wantURL, true}, []any{page.Meta.PageSize, page.Meta.Url, page.Meta.NextPageUrl == nil}); diff != "" {
			t.Errorf("%s meta (-want +got):\n%s", r, diff)
		}
	}
	if n := h.judgedOps()["ListCallSummaries"]; n != 9 {
		t.Errorf("judged %d ListCallSummaries responses, want 9", n)
	}
}

func TestCallSummaryRequestsAreChecked(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 12})
	_, err := h.client(region.IE1).InsightsV1.FetchSummary("CA"+strings.Repeat("a", 32), nil)
	if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
		t.Errorf("unknown call: got %d/%d, want 404/20404", te.Status, te.Code)
	}
	bad := []string{
		"StartTime=yesterday", "EndTime=4x", "CallType=pstn", "CallState=completed,gone", "Direction=sideways",
		"ProcessingState=done", "SortBy=duration", "Subaccount=ACnothex", "HasTag=maybe", "AbnormalSession=2",
		"VerifiedCaller=yes", "AnsweredBy=robot", "PageSize=0", "PageSize=1001",
	}
	for _, q := range bad {
		st, body := v1RawGet(t, h, region.US1, "insights", "/v1/Voice/Summaries?"+q)
		if st != http.StatusBadRequest || v1ErrorCode(t, body) != 20001 && v1ErrorCode(t, body) != 21218 {
			t.Errorf("%s: got %d %s, want 400", q, st, body)
		}
	}
	for _, q := range []string{"StartTime=2024-01-02", "StartTime=2024-01-02T03:04:05Z", "StartTime=30m", "StartTime=4w", "VerifiedCaller=false"} {
		if st, body := v1RawGet(t, h, region.US1, "insights", "/v1/Voice/Summaries?"+q); st != http.StatusOK {
			t.Errorf("%s: got %d %s, want 200", q, st, body)
		}
	}
	st, body := v1RawGet(t, h, region.US1, "insights", "/v1/Voice/CA"+strings.Repeat("b", 32)+"/Summary?ProcessingState=sometimes")
	if st != http.StatusNotFound {
		t.Errorf("unknown call with a bad ProcessingState: got %d %s, want 404 (the call is looked up first)", st, body)
	}
}

func TestCallSummariesNeedAdvancedFeatures(t *testing.T) {
	h := newHarness(t, twilioemu.Options{RandSeed: 13})
	// A seeded region's resources say whether Advanced Features are on.
	err := h.emu.Seed(&snapshot.Snapshot{
		Format: snapshot.Format, Regions: []string{"us1", "ie1"},
		Resources: map[string]*snapshot.RegionResources{"us1": {AdvancedInsights: ptr(false)}, "ie1": {AdvancedInsights: ptr(true)}},
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	_, err = h.client(region.US1).InsightsV1.ListCallSummaries(nil)
	if te := restError(t, err); te.Status != 403 || te.Code != 17000 {
		t.Errorf("us1 without Advanced Features: got %d/%d, want 403/17000", te.Status, te.Code)
	}
	if _, err := h.client(region.IE1).InsightsV1.ListCallSummaries(nil); err != nil {
		t.Errorf("ie1 with Advanced Features: %v", err)
	}
	q := url.Values{"StartTime": {"4h"}}
	if st, _ := v1RawGet(t, h, region.US1, "insights", "/v1/Voice/Summaries?"+q.Encode()); st != http.StatusForbidden {
		t.Errorf("raw us1 list: status %d, want 403", st)
	}
}
