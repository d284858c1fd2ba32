package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/ui"
)

const demoToken = "demo-token-for-screenshots"

// demoHandler serves the dashboard and a small fixed API in the server's
// shapes: what an incident commander sees mid-failover.
func demoHandler() http.Handler {
	now := time.Now().UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	const digest = "9f2c41d7a0b35e88c6f1d2a4b7e90c13f5a6d8e2b4c7f9a1d3e5b7c9a2e4f6b8"
	const runID = "support-failover-20260312T031402Z-8ea3dd"

	// A gate series: answered % and sample size, one point per evaluation.
	series := func(start time.Duration, n int) []map[string]any {
		var out []map[string]any
		for i := 0; i < n; i++ {
			v := []float64{0, 88.9, 94.1, 96.3, 97.4, 98.0, 98.2, 98.4}[min(i, 7)]
			s := []int{0, 9, 17, 27, 38, 50, 61, 73}[min(i, 7)]
			m := map[string]any{"signal": "answered", "source": "calls", "value": v, "unit": "percent", "sample": s,
				"threshold": map[string]any{"op": ">=", "value": 95, "unit": "percent"}, "pass": v >= 95 && s >= 5,
				"at": at(start - time.Duration(i)*10*time.Second)}
			if s == 0 {
				m["missing"] = "no calls yet"
			}
			out = append(out, m)
			out = append(out, map[string]any{"signal": "errors", "source": "alerts", "value": 0, "unit": "count", "sample": s,
				"threshold": map[string]any{"op": "<=", "value": 0, "unit": "count"}, "pass": s >= 5, "at": at(start - time.Duration(i)*10*time.Second)})
		}
		return out
	}
	// A trigger's evidence: inbound calls against baseline while it held.
	evidence := func(start time.Duration, n int) []map[string]any {
		var out []map[string]any
		for i := 0; i < n; i++ {
			v := []float64{41, 22, 14, 12, 11, 12, 12}[min(i, 6)]
			out = append(out, map[string]any{"signal": "inbound_vs_baseline", "source": "calls", "value": v, "unit": "percent", "sample": 40 - i*5,
				"threshold": map[string]any{"op": "<", "value": 50, "unit": "percent"}, "pass": true, "at": at(start + 3*time.Minute - time.Duration(i)*30*time.Second)})
		}
		return out
	}
	thresholds := []map[string]any{{"signal": "answered", "op": ">=", "value": 95, "unit": "percent"}, {"signal": "errors", "op": "<=", "value": 0, "unit": "count"}}
	run := map[string]any{"id": runID, "plan_digest": digest, "flow": "support", "kind": "failover", "created_at": at(3 * time.Minute), "state": "running"}
	gap := func(kind, sev, region, res, detail, fix string) map[string]any {
		return map[string]any{"kind": kind, "severity": sev, "region": region, "resource": res, "detail": detail, "remediation": fix}
	}
	api := map[string]any{
		"/v1/me": map[string]any{"person": "Ada", "role": "incident_commander", "standing": "active",
			"can": map[string]bool{"view": true, "apply": true, "approve": true, "admin": false}},
		"/v1/regions": []map[string]any{
			{"region": "us1", "status": "down", "median_ms": 0, "checked_at": at(2 * time.Second), "error": "api.ashburn.us1.twilio.com: connection reset"},
			{"region": "ie1", "status": "up", "median_ms": 84, "checked_at": at(2 * time.Second), "error": ""},
			{"region": "au1", "status": "degraded", "median_ms": 912, "checked_at": at(2 * time.Second), "error": ""},
		},
		"/v1/flows": []map[string]any{
			{"flow": "support", "primary": "us1", "standby": "ie1", "numbers": 240, "ready": true, "errors": 0, "checked_at": at(40 * time.Second), "gaps": []any{}},
			{"flow": "sales", "primary": "us1", "standby": "ie1", "numbers": 48, "ready": false, "errors": 2, "checked_at": at(40 * time.Second), "gaps": []any{
				gap("app_missing", "error", "ie1", "sales-ivr", "TwiML App sales-ivr exists in us1 only", "voicedr standby plan --flow sales, then standby apply, creates sales-ivr in ie1"),
				gap("number_standby_unconfigured", "error", "ie1", "+14155550142", "the ie1 record has no voice_url", "voicedr standby apply --flow sales writes the record from the workbook"),
				gap("fallback_missing", "warning", "ie1", "+14155550177", "no voice_fallback_url", "set app.fallback_url for ie1 in the workbook"),
			}},
		},
		"/v1/decisions": []map[string]any{{"id": "3f9a1c0d7e2b4a65", "flow": "support", "trigger": "us1-inbound-drop", "state": "approval",
			"opened_at": at(6 * time.Minute), "updated_at": at(3 * time.Minute), "body": map[string]any{
				"firing": map[string]any{"trigger": "us1-inbound-drop", "flow": "support", "signal": "inbound_vs_baseline", "source": "calls", "region": "us1",
					"condition": map[string]any{"op": "<", "value": 50, "unit": "percent"}, "for": "3m", "evaluations": 7, "evidence": evidence(6*time.Minute, 7)},
				"steps": []map[string]any{
					{"name": "detection", "owner_role": "voicedr", "at": at(6 * time.Minute), "actor": "voicedr", "actor_role": "voicedr", "note": "trigger us1-inbound-drop fired: inbound_vs_baseline < 50 percent for 3m"},
					{"name": "technical_assessment", "owner_role": "voicedr", "at": at(6 * time.Minute), "actor": "voicedr", "actor_role": "voicedr", "note": "ie1 ready: 240 numbers, 0 gaps; plan 9f2c41d7 executable (240 actions)"},
					{"name": "business_impact", "owner_role": "business_owner", "at": at(4 * time.Minute), "actor": "Grace", "actor_role": "business_owner", "note": "callback queue can degrade; IVR must survive"},
					{"name": "approval", "owner_role": "business_owner", "at": at(3*time.Minute + 20*time.Second), "actor": "Grace", "actor_role": "business_owner", "note": "approved by Alan and Grace"},
				}}}},
		"/v1/runs": []map[string]any{run,
			{"id": "support-drill-20260301T100000Z-11aa2b", "plan_digest": "1c3e5a7b", "flow": "support", "kind": "drill", "created_at": at(11 * 24 * time.Hour), "state": "completed"},
			{"id": "sales-failover-20260214T221500Z-77c0d1", "plan_digest": "5d7f9b1c", "flow": "sales", "kind": "failover", "created_at": at(26 * 24 * time.Hour), "state": "rolled_back"}},
		"/v1/runs/" + runID: map[string]any{
			"run": run,
			"status": map[string]any{"run": run, "ledger_records": 512, "steps": map[string]int{"committed": 132, "routed": 60, "pending": 48},
				"cohorts": []map[string]any{
					{"name": "test", "kind": "number", "actions": 12, "step": "committed", "steps": map[string]int{"committed": 12}},
					{"name": "canary", "kind": "number", "actions": 120, "step": "committed", "steps": map[string]int{"committed": 120}},
					{"name": "rest", "kind": "number", "actions": 108, "step": "routed", "steps": map[string]int{"routed": 60, "pending": 48}}}},
			"plan": map[string]any{"flow": "support", "kind": "failover", "from": "us1", "to": "ie1", "digest": digest,
				"cohorts": []map[string]any{{"name": "test", "kind": "number", "actions": 12}, {"name": "canary", "kind": "number", "actions": 120}, {"name": "rest", "kind": "number", "actions": 108}}},
			"gates": []map[string]any{
				{"cohort": "canary", "gate": "g", "outcome": "go", "thresholds": thresholds, "series": series(150*time.Second, 8)},
				{"cohort": "rest", "gate": "g", "outcome": "pending", "thresholds": thresholds, "series": series(40*time.Second, 4)}},
			"events": []map[string]any{
				{"time": at(170 * time.Second), "run": runID, "type": "cohort.start", "cohort": "test", "total": 12},
				{"time": at(160 * time.Second), "run": runID, "type": "cohort.committed", "cohort": "test", "done": 12, "total": 12},
				{"time": at(150 * time.Second), "run": runID, "type": "gate.decided", "cohort": "canary", "msg": "go: answered 98.4% on 73 calls"},
				{"time": at(50 * time.Second), "run": runID, "type": "cohort.committed", "cohort": "canary", "done": 120, "total": 120},
				{"time": at(8 * time.Second), "run": runID, "type": "routing", "cohort": "rest", "done": 60, "total": 108}}},
		"/v1/approvals": []map[string]any{{"digest": "3b8d0f2e4a6c8e0a2c4e6a8c0e2a4c6e8a0c2e4a6c8e0a2c4e6a8c0e2a4c6e8a", "flow": "sales", "kind": "failover", "created_at": at(90 * time.Second),
			"status": map[string]any{"policy": "two_person", "satisfied": false, "break_glass": false,
				"reason": "needs 1 more approval from a business_owner", "requesters": []string{"Alan"},
				"approvals": []map[string]any{{"id": "ap1", "person": "Ada", "role": "incident_commander", "decision": "approve", "reason": "us1 down, sales standby checked", "at": at(60 * time.Second)}},
				"counted":   []map[string]any{{"id": "ap1"}}}},
			{"digest": digest, "flow": "support", "kind": "failover", "created_at": at(5 * time.Minute),
				"status": map[string]any{"policy": "two_person", "satisfied": true, "break_glass": false, "reason": "approved by Alan (incident_commander) and Grace (business_owner)", "requesters": []string{"Ada"},
					"approvals": []map[string]any{
						{"id": "ap2", "person": "Alan", "role": "incident_commander", "decision": "approve", "at": at(4 * time.Minute)},
						{"id": "ap3", "person": "Grace", "role": "business_owner", "decision": "approve", "at": at(3*time.Minute + 20*time.Second)}},
					"counted": []map[string]any{{"id": "ap2"}, {"id": "ap3"}}}}},
		"/v1/audit/verify": map[string]any{"ok": true, "entries": 1842, "checkpoints": 37, "head": 1842, "checkpointed_through": 1840, "not_yet_checkpointed": 2},
	}
	var audit []map[string]any
	kinds := []struct{ kind, actor, subject string }{
		{"run.action", "voicedr", runID}, {"gate", "voicedr", runID}, {"approval", "Grace", digest}, {"approval", "Alan", digest},
		{"plan", "Ada", digest}, {"decision.step", "Ada", "dec-20260312-0311"}, {"decision.step", "voicedr", "dec-20260312-0311"}}
	for i := 0; i < 20; i++ {
		k := kinds[i%len(kinds)]
		audit = append(audit, map[string]any{"seq": 1842 - i, "at": at(time.Duration(i*11) * time.Second), "kind": k.kind, "actor": k.actor, "subject": k.subject,
			"hash": fmt.Sprintf("%064x", 0xabc123+i*7919)})
	}
	api["/v1/audit"] = audit

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+demoToken {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "authentication required"})
			return
		}
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"error": "the screenshot demo changes nothing"})
			return
		}
		v, ok := api[strings.TrimSuffix(r.URL.Path, "/")]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "no such API route"})
			return
		}
		json.NewEncoder(w).Encode(v)
	})
	mux.Handle("/", ui.Handler())
	return mux
}
