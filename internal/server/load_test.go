package server_test

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store"
	"github.com/voicedr/voicedr/internal/twilio"
	"github.com/voicedr/voicedr/internal/workbook"
)

// loadWB puts every generated number in one flow of three cohorts without
// gates: the load is the run's ledger writes, not proof.
const loadWB = `version: 1
program: load
regions:
  - {region: us1, role: primary}
  - {region: ie1, edge: dublin, role: standby}
flows:
  - name: everything
    criticality: critical
    selectors: {friendly_name_prefix: [support-, sales-, billing-, marketing-, contact-center-, dispatch-]}
    rto: 15m
    cohorts:
      - {name: first, order: 1, share: 0.1, no_go: pause}
      - {name: second, order: 2, share: 0.4, no_go: pause}
      - {name: rest, order: 3, share: 1, no_go: pause}
governance:
  roles: [{name: sre}, {name: viewer}]
  people: [{name: olga, role: sre}, {name: vic, role: viewer}]
`

// BenchmarkDashboardLoad is the bounded load test: 50 dashboard
// clients each poll GET /v1/runs/{id}, /v1/regions and /v1/flows every
// 200 ms, over loopback, while the server executes a run moving N numbers
// (VOICEDR_LOAD_NUMBERS, default 10,000) against the emulator without
// latency, its ledger in a real SQLite file. It reports the API's p50, p99
// and max latency beside the 250 ms bound, and fails on any error (non-200
// or transport failure). Run it with -bench BenchmarkDashboardLoad
// -benchtime 1x.
func BenchmarkDashboardLoad(b *testing.B) {
	n := 10000
	if v := os.Getenv("VOICEDR_LOAD_NUMBERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("VOICEDR_LOAD_NUMBERS=%q: want a positive number", v)
		}
	}
	const (
		clients = 50
		every   = 200 * time.Millisecond
		bound   = 250 * time.Millisecond
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		wb, err := workbook.Parse("load.yaml", []byte(loadWB))
		if err != nil {
			b.Fatal(err)
		}
		e := newEnv(b, n, wb, twilio.Options{Limits: twilio.Limits{Rate: 2000, MaxInFlight: 128}})
		seed := e.acct.Seed
		p, err := plan.Make(plan.Input{Snapshot: seed, Workbook: wb, Flow: "everything", Kind: plan.Failover, Now: time.Now(), Accept: accepted})
		if err != nil {
			b.Fatal(err)
		}
		srv := e.start(b, func(o *server.Options) {
			o.ReadinessInterval = 30 * time.Second
			// The drift check and readiness read the generated account as
			// seeded: reading 10,000 routes per request is not the load.
			o.Snapshot = func(context.Context) (*snapshot.Snapshot, error) { return seed, nil }
			o.NewEngine = func(p *plan.Plan) *execute.Engine {
				eng := e.newEngine(p)
				eng.SkipProof = true
				return eng
			}
		})
		if r := e.call(b, srv.http.URL, "olga", "POST", "/v1/plans", planBody(b, p)); r.code != http.StatusCreated {
			b.Fatalf("upload: %d %s", r.code, r.body)
		}
		waitFor(b, "first readiness", time.Minute, func() bool {
			return len(e.call(b, srv.http.URL, "vic", "GET", "/v1/flows", nil).body) > 3
		})
		tr := &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxIdleConns: clients * 2}
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		r := e.call(b, srv.http.URL, "olga", "POST", "/v1/plans/"+p.Digest+"/apply", nil)
		if r.code != http.StatusAccepted {
			b.Fatalf("apply: %d %s", r.code, r.body)
		}
		var started struct {
			RunID string `json:"run_id"`
		}
		r.decode(b, &started)

		var (
			mu        sync.Mutex
			latencies []time.Duration
			errs      int
			firstErr  string
		)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		paths := []string{"/v1/runs/" + started.RunID, "/v1/regions", "/v1/flows"}
		b.StartTimer()
		begin := time.Now()
		for c := 0; c < clients; c++ {
			wg.Go(func() {
				t := time.NewTicker(every)
				defer t.Stop()
				for ctx.Err() == nil {
					for _, path := range paths {
						req, _ := http.NewRequestWithContext(ctx, "GET", srv.http.URL+path, nil)
						req.Header.Set("Authorization", "Bearer "+e.tokens["vic"])
						t0 := time.Now()
						res, err := hc.Do(req)
						d := time.Since(t0)
						if ctx.Err() != nil {
							return
						}
						mu.Lock()
						switch {
						case err != nil:
							errs++
							firstErr = err.Error()
						case res.StatusCode != http.StatusOK:
							errs++
							firstErr = path + ": " + res.Status
						default:
							latencies = append(latencies, d)
						}
						mu.Unlock()
						if res != nil {
							_, _ = res.Body.Read(make([]byte, 0))
							drain(res)
						}
					}
					select {
					case <-ctx.Done():
					case <-t.C:
					}
				}
			})
		}
		var final store.RunState
		for {
			run, err := e.st.GetRun(context.Background(), started.RunID)
			if err != nil {
				b.Fatal(err)
			}
			if final = run.State; final != store.RunRunning && final != store.RunPlanned {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		took := time.Since(begin)
		stop()
		wg.Wait()
		b.StopTimer()
		if final != store.RunCompleted {
			b.Fatalf("run %s ended %s; want completed", started.RunID, final)
		}
		slices.Sort(latencies)
		q := func(f float64) time.Duration {
			if len(latencies) == 0 {
				return 0
			}
			return latencies[min(len(latencies)-1, int(f*float64(len(latencies))))]
		}
		p50, p99, worst := q(0.50), q(0.99), q(1)
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(len(latencies))/took.Seconds(), "req/s")
		b.ReportMetric(float64(errs), "errors")
		verdict := "within"
		if p99 > bound {
			verdict = "OVER"
		}
		b.Logf("%d numbers moved in %v; %d clients × %d paths every %v: %d requests, %d errors; latency p50 %v, p99 %v (%s the %v bound), max %v",
			len(p.Actions()), took.Round(time.Millisecond), clients, len(paths), every, len(latencies), errs, p50, p99, verdict, bound, worst)
		if errs > 0 {
			b.Fatalf("%d API errors during the run (first: %s); want none", errs, firstErr)
		}
		srv.stop(b)
	}
}

func drain(res *http.Response) {
	buf := make([]byte, 32<<10)
	for {
		if _, err := res.Body.Read(buf); err != nil {
			break
		}
	}
	res.Body.Close()
}
