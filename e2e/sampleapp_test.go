//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSampleAppAnswersEmulatedCalls runs `voicedr sample-app` for us1 with
// the emulator's us1 auth token, points a number at it through the operator
// API, places a call, and reads the app's counters: one signed voice request.
func TestSampleAppAnswersEmulatedCalls(t *testing.T) {
	addr, env, _ := startEmulator(t)
	cmd := exec.Command(bin, "sample-app", "--region", "us1")
	cmd.Env = env
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	appURL := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && appURL == "" {
		for _, f := range strings.Fields(sc.Text()) {
			if strings.HasPrefix(f, "http://127.0.0.1:") {
				appURL = strings.TrimSuffix(strings.TrimSuffix(f, "/voice"), "/")
				break
			}
		}
	}
	if appURL == "" {
		t.Fatal("sample-app printed no URL")
	}
	go io.Copy(io.Discard, stdout)
	waitApp(t, appURL)
	seed := fmt.Sprintf(`{"format":"voicedr.snapshot/v1","regions":["us1","ie1","au1"],"numbers":[{"phone_number":"+14155550100",
		"routing":{"voice_region":"us1","explicit":true},"records":{"us1":{"voice_url":"%s/voice","voice_fallback_url":"%s/fallback"}}}]}`, appURL, appURL)
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/__emulator/v1/snapshot", strings.NewReader(seed))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("seed: %v %v", err, resp)
	}
	resp, err := http.Post("http://"+addr+"/__emulator/v1/calls", "application/json", strings.NewReader(`{"to":"+14155550100","from":"+447700900123"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Region, Outcome string
		Alerts          []string
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	var state struct {
		Counters struct {
			Requests          map[string]map[string]int64 `json:"requests"`
			SignatureFailures int64                       `json:"signature_failures"`
		} `json:"counters"`
	}
	r2, err := http.Get(appURL + "/__sampleapp/mode")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(r2.Body).Decode(&state)
	r2.Body.Close()
	if out.Region != "us1" || out.Outcome != "answered" || state.Counters.SignatureFailures != 0 || state.Counters.Requests["voice"]["ok"] != 1 || len(out.Alerts) != 0 {
		t.Errorf("call %+v; app counters %+v", out, state.Counters)
	}
}

func waitApp(t *testing.T, base string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sample app at %s never answered", base)
}
