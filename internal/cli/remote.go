package cli

// Remote mode: with --server URL (or $VOICEDR_SERVER) the run, approve and
// apply commands talk to a `voicedr serve` over its /v1 API instead of the
// local database. The person is the API token's, read from $VOICEDR_TOKEN or
// --token-file: never from a flag, because argv is visible to every user of
// the machine. The token goes only into the Authorization header; it is
// redacted from anything the server answers, and no error names it.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/governance"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/store"
)

// Remote timeouts and pacing. Variables so the package's tests can shorten
// the poll interval.
var (
	remoteRequestTimeout = 30 * time.Second
	remoteUploadTimeout  = 5 * time.Minute // a 10,000-number plan is megabytes
	remotePollInterval   = time.Second
	// remotePollRetries is how many consecutive transient failures (network,
	// 5xx) a watch rides out: the server may restart mid-run, and its runs
	// survive that.
	remotePollRetries = 10
)

// addRemoteFlags registers --server and --token-file as persistent flags of
// cmd, so a parent (run) gives them to every subcommand.
func addRemoteFlags(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.String("server", "", "talk to this voicedr server (http://host:port) instead of the local database (default $VOICEDR_SERVER; --server= forces local)")
	pf.String("token-file", "", "read the API token from this file (default: $VOICEDR_TOKEN); there is no --token flag, as argv is visible to other users")
}

// remote is one command's remote mode: a client, or the error that stops
// remote mode from starting (bad URL, no token), reported by every method.
type remote struct {
	g   *globals
	c   *remoteClient
	err error
}

// remoteFor returns remote mode for cmd, or nil when cmd works locally.
func remoteFor(cmd *cobra.Command, g *globals) *remote {
	f := cmd.Flags()
	base, _ := f.GetString("server")
	if !f.Changed("server") {
		base = g.getenv("VOICEDR_SERVER")
	}
	if strings.TrimSpace(base) == "" {
		return nil
	}
	r := &remote{g: g}
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		r.err = usageError("--server %q: give the server's base URL, e.g. http://127.0.0.1:8080 (no credentials in it)", redactURL(base))
		return r
	}
	tok, err := remoteToken(f, g)
	if err != nil {
		r.err = err
		return r
	}
	if g.logger != nil {
		f.Visit(func(fl *pflag.Flag) {
			switch fl.Name {
			case "db", "workbook", "signing-key", "lease-ttl", "workers":
				g.logger.Warn("ignored with --server: the server uses its own", "flag", "--"+fl.Name)
			}
		})
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			g.logger.Warn("the API token travels unencrypted to a non-loopback server: use https", "server", u.Redacted())
		}
	}
	r.c = newRemoteClient(strings.TrimRight(u.String(), "/"), tok)
	return r
}

// remoteToken reads the token from --token-file, else $VOICEDR_TOKEN.
func remoteToken(f flagGetter, g *globals) (string, error) {
	path, _ := f.GetString("token-file")
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", usageError("--token-file: %v", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", usageError("--token-file %s is empty: write the token from voicedr token create into it", path)
		}
		return tok, nil
	}
	if tok := strings.TrimSpace(g.getenv("VOICEDR_TOKEN")); tok != "" {
		return tok, nil
	}
	return "", usageError("remote mode needs your API token: set VOICEDR_TOKEN or give --token-file FILE (an admin makes one with voicedr token create --person NAME)")
}

type flagGetter interface {
	GetString(string) (string, error)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// remoteClient is a small client of the server's /v1 API.
type remoteClient struct {
	base  string // scheme://host[:port][/prefix], no trailing slash
	token string
	hc    *http.Client
}

func newRemoteClient(base, token string) *remoteClient {
	return &remoteClient{base: base, token: token, hc: &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// A redirect could carry the bearer token somewhere else: refuse.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// redact removes the token from text the server sent back.
func (c *remoteClient) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[token redacted]")
}

// remoteStatusError is an HTTP answer outside 2xx.
type remoteStatusError struct {
	Code int
	Msg  string
}

func (e *remoteStatusError) Error() string { return e.Msg }

// transient tells whether a watch should retry err: the network or a 5xx.
func transient(err error) bool {
	var se *remoteStatusError
	if errors.As(err, &se) {
		return se.Code >= 500
	}
	var ee *ExitError
	return errors.As(err, &ee) && ee.Code == ExitFailed
}

// do sends one request and decodes a 2xx JSON answer into out (when not
// nil). Errors carry the exit code the answer maps to.
func (c *remoteClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	timeout := remoteRequestTimeout
	if len(body) > 1<<20 {
		timeout = remoteUploadTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return usageError("server %s: %v", c.base, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if parent.Err() != nil {
			return fmt.Errorf("server %s: %w", c.base, parent.Err()) // interrupted: exit 130
		}
		// url.Error names the method and URL, never a header.
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("cannot reach the voicedr server at %s: %s", c.base, c.redact(rootCause(err)))}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("server %s: %s %s: reading the answer: %s", c.base, method, path, c.redact(err.Error()))}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.statusError(method, path, resp, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("server %s: %s %s: the answer is not what this voicedr expects (%v): is it a voicedr server of the same version?", c.base, method, path, err)}
	}
	return nil
}

func rootCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// statusError maps an HTTP answer to the exit codes: 401/403/409 refused
// (6), 400/404/413 bad input (2), anything else failed (1).
func (c *remoteClient) statusError(method, path string, resp *http.Response, body []byte) error {
	var e struct {
		Error string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	} else if s := strings.TrimSpace(string(body)); s != "" && len(s) < 500 {
		msg = s
	} else {
		msg = http.StatusText(resp.StatusCode)
	}
	msg = c.redact(msg)
	se := &remoteStatusError{Code: resp.StatusCode}
	code := ExitFailed
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		code = ExitRefused
		se.Msg = fmt.Sprintf("server %s refused the token: %s (check VOICEDR_TOKEN or --token-file)", c.base, msg)
	case http.StatusForbidden:
		code = ExitRefused
		se.Msg = fmt.Sprintf("server %s refused: %s", c.base, msg)
	case http.StatusConflict:
		code = ExitRefused
		se.Msg = fmt.Sprintf("server %s refused: %s", c.base, msg)
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge:
		code = ExitUsage
		se.Msg = fmt.Sprintf("server %s: %s", c.base, msg)
	default:
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			se.Msg = fmt.Sprintf("server %s answered %s %s with a redirect (HTTP %d): give the server's own URL with --server", c.base, method, path, resp.StatusCode)
		} else {
			se.Msg = fmt.Sprintf("server %s: %s %s: %s (HTTP %d)", c.base, method, path, msg, resp.StatusCode)
		}
	}
	return &ExitError{Code: code, Err: se}
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v) // maps and structs of strings and bools
	return b
}

func (c *remoteClient) runDetail(ctx context.Context, id string) (*server.RunDetail, error) {
	var d server.RunDetail
	if err := c.do(ctx, http.MethodGet, "/v1/runs/"+url.PathEscape(id), nil, &d); err != nil {
		return nil, err
	}
	d.Status.Run = d.Run // one truth for the JSON status, whichever the server filled
	return &d, nil
}

// list is `voicedr run list --server`.
func (r *remote) list(ctx context.Context, asJSON bool, limit int) error {
	if r.err != nil {
		return r.err
	}
	var runs []store.Run
	if err := r.c.do(ctx, http.MethodGet, "/v1/runs", nil, &runs); err != nil {
		return err
	}
	if limit > 0 && len(runs) > limit {
		runs = runs[:limit]
	}
	if runs == nil {
		runs = []store.Run{}
	}
	if asJSON {
		return json.NewEncoder(r.g.stdout).Encode(runs)
	}
	tw := tabwriter.NewWriter(r.g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tFLOW\tKIND\tSTATE\tCREATED\tPLAN")
	for _, run := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.12s\n", run.ID, run.Flow, run.Kind, run.State, run.CreatedAt.Format(time.RFC3339), run.PlanDigest)
	}
	return tw.Flush()
}

// status is `voicedr run status RUN --server`: the same JSON shape as the
// local command (execute.Status).
func (r *remote) status(ctx context.Context, id string, asJSON bool) error {
	if r.err != nil {
		return r.err
	}
	d, err := r.c.runDetail(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(r.g.stdout).Encode(d.Status)
	}
	printRemoteStatus(r.g.stdout, d)
	return nil
}

func printRemoteStatus(w io.Writer, d *server.RunDetail) {
	st := d.Status
	fmt.Fprintf(w, "Run %s (%s of %s): %s, %d ledger records\n", d.Run.ID, d.Run.Kind, d.Run.Flow, d.Run.State, st.Records)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  COHORT\tKIND\tACTIONS\tSTEP\tACTIONS BY STEP\tREASON")
	for _, c := range st.Cohorts {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%v\t%s\n", c.Name, c.Kind, c.Actions, cmp.Or(string(c.Step), "pending"), c.Steps, c.Reason)
	}
	_ = tw.Flush()
	for _, gv := range d.Gates {
		fmt.Fprintf(w, "  gate %s on %s: %s", gv.Gate, gv.Cohort, gv.Outcome)
		if gv.Reason != "" {
			fmt.Fprintf(w, " (%s)", gv.Reason)
		}
		fmt.Fprintln(w)
	}
}

// control is pause, abort, resume or rollback of a run in the server.
func (r *remote) control(ctx context.Context, id, verb string, body map[string]any) error {
	if r.err != nil {
		return r.err
	}
	var out struct {
		State string `json:"state"`
	}
	if body == nil {
		body = map[string]any{}
	}
	if err := r.c.do(ctx, http.MethodPost, "/v1/runs/"+url.PathEscape(id)+"/"+verb, jsonBody(body), &out); err != nil {
		return err
	}
	fmt.Fprintf(r.g.stdout, "run %s: %s asked in the server (%s)\n", id, verb, cmp.Or(out.State, "accepted"))
	return nil
}

// resume continues a run in the server and watches it like apply.
func (r *remote) resume(ctx context.Context, id string, force, asJSON bool) error {
	if err := r.control(ctx, id, "resume", map[string]any{"force": force}); err != nil {
		return err
	}
	return r.watch(ctx, id, asJSON)
}

// rollback starts restoring a run's observed routing in the server; it
// returns once the server holds the run's leases (the rollback goes on
// there: voicedr run status shows it end).
func (r *remote) rollback(ctx context.Context, id, cohort string) error {
	body := map[string]any{}
	if cohort != "" {
		body["cohort"] = cohort
	}
	if err := r.control(ctx, id, "rollback", body); err != nil {
		return err
	}
	if r.err == nil {
		fmt.Fprintf(r.g.stdout, "follow it with: voicedr run status %s --server %s\n", id, r.c.base)
	}
	return nil
}

// uploadPlan stores a plan file in the server and returns its digest.
func (r *remote) uploadPlan(ctx context.Context, path string) (string, error) {
	if _, err := readPlanFile(path); err != nil {
		return "", err // a bad plan is refused here, before any request
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return "", usageError("%v", err)
	}
	var out struct {
		Digest string `json:"digest"`
	}
	if err := r.c.do(ctx, http.MethodPost, "/v1/plans", body, &out); err != nil {
		return "", err
	}
	if out.Digest == "" {
		return "", &ExitError{Code: ExitFailed, Err: fmt.Errorf("server %s stored the plan but named no digest", r.c.base)}
	}
	return out.Digest, nil
}

// apply is `voicedr apply PLAN --server`: upload, apply in the server, and
// watch the run until it leaves running.
func (r *remote) apply(ctx context.Context, path, as string, force, asJSON bool) error {
	if r.err != nil {
		return r.err
	}
	if as != "" {
		return errAsRemote
	}
	digest, err := r.uploadPlan(ctx, path)
	if err != nil {
		return err
	}
	var out struct {
		RunID string `json:"run_id"`
	}
	if err := r.c.do(ctx, http.MethodPost, "/v1/plans/"+url.PathEscape(digest)+"/apply", jsonBody(map[string]bool{"force": force}), &out); err != nil {
		return err
	}
	fmt.Fprintf(r.g.stderr, "run %s started in the server %s (plan %.12s)\n", out.RunID, r.c.base, digest)
	return r.watch(ctx, out.RunID, asJSON)
}

var errAsRemote = usageError("--as is not used with --server: the server knows you by your API token (VOICEDR_TOKEN or --token-file)")

// watch polls a run until it leaves running, printing a line whenever a
// cohort moves, then reports its final status and maps its state to the
// exit code as the local commands do.
func (r *remote) watch(ctx context.Context, id string, asJSON bool) error {
	seen := map[string]string{}
	failures := 0
	for {
		d, err := r.c.runDetail(ctx, id)
		switch {
		case err != nil && ctx.Err() != nil:
			return fmt.Errorf("stopped watching; run %s goes on in the server (voicedr run status %s --server %s): %w", id, id, r.c.base, ctx.Err())
		case err != nil && transient(err) && failures < remotePollRetries:
			failures++
			fmt.Fprintf(r.g.stderr, "%s still watching run %s: %v\n", time.Now().Format("15:04:05"), id, err)
		case err != nil:
			return err
		default:
			failures = 0
			printCohortProgress(r.g.stderr, d, seen)
			if d.Run.State != store.RunRunning && d.Run.State != store.RunPlanned {
				return r.finish(d, asJSON)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped watching; run %s goes on in the server (voicedr run status %s --server %s): %w", id, id, r.c.base, ctx.Err())
		case <-time.After(remotePollInterval):
		}
	}
}

// printCohortProgress writes one line per cohort whose step or moved count
// changed since the last poll.
func printCohortProgress(w io.Writer, d *server.RunDetail, seen map[string]string) {
	for _, c := range d.Status.Cohorts {
		moved := 0
		for step, n := range c.Steps {
			switch step {
			case store.StepApplied, store.StepRouted, store.StepProven, store.StepCommitted:
				moved += n
			}
		}
		line := fmt.Sprintf("cohort %-20s %-11s moved %d/%d", c.Name, cmp.Or(string(c.Step), "pending"), moved, c.Actions)
		if c.Reason != "" {
			line += "  " + c.Reason
		}
		if seen[c.Name] == line {
			continue
		}
		seen[c.Name] = line
		fmt.Fprintf(w, "%s %s\n", time.Now().Format("15:04:05"), line)
	}
}

// finish prints a run's final status and maps its state to the exit code.
func (r *remote) finish(d *server.RunDetail, asJSON bool) error {
	if asJSON {
		_ = json.NewEncoder(r.g.stdout).Encode(d.Status)
	} else {
		fmt.Fprintln(r.g.stdout)
		printRemoteStatus(r.g.stdout, d)
	}
	return runStateExit(d.Run, d.Status)
}

func runStateExit(run store.Run, st execute.Status) error {
	reason := ""
	for _, c := range st.Cohorts {
		if c.Reason != "" {
			reason = c.Reason
		}
	}
	switch run.State {
	case store.RunCompleted:
		return nil
	case store.RunRolledBack:
		return &ExitError{Code: ExitNoGo, Err: fmt.Errorf("run %s rolled back: %s", run.ID, cmp.Or(reason, "a gate said no-go"))}
	case store.RunPaused, store.RunAborted:
		return &ExitError{Code: ExitNeedsHuman, Err: fmt.Errorf("run %s %s: %s; look at it (voicedr run status %s --server URL), then resume, roll back or abort it", run.ID, run.State, cmp.Or(reason, "a human is needed"), run.ID)}
	}
	return &ExitError{Code: ExitFailed, Err: fmt.Errorf("run %s ended %s", run.ID, run.State)}
}

// approve is `voicedr approve PLAN_OR_DIGEST_OR_RUN --server`: the person
// is the token's.
func (r *remote) approve(cmd *cobra.Command, arg, as string, reject bool, breakGlass, reason string, asJSON bool) error {
	if r.err != nil {
		return r.err
	}
	if as != "" {
		return errAsRemote
	}
	ctx := cmd.Context()
	decision := governance.DecisionApprove
	switch {
	case reject && cmd.Flags().Changed("break-glass"):
		return usageError("--reject and --break-glass exclude each other")
	case reject:
		decision = governance.DecisionReject
	case cmd.Flags().Changed("break-glass"):
		if strings.TrimSpace(breakGlass) == "" {
			return usageError("--break-glass needs a named reason, e.g. --break-glass \"us1 down, business owner unreachable\"")
		}
		decision, reason = governance.DecisionBreakGlass, strings.TrimSpace(breakGlass+" "+reason)
	}
	digest, err := r.digestOf(ctx, arg)
	if err != nil {
		return err
	}
	var out struct {
		Approval store.Approval    `json:"approval"`
		Status   governance.Status `json:"status"`
	}
	if err := r.c.do(ctx, http.MethodPost, "/v1/approvals", jsonBody(map[string]string{"digest": digest, "decision": decision, "reason": reason}), &out); err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(r.g.stdout).Encode(map[string]any{"recorded": out.Approval, "status": out.Status})
	}
	rec := out.Approval
	fmt.Fprintf(r.g.stdout, "Recorded %s by %s (%s) on plan %.12s in the server %s, counts until %s\n",
		rec.Decision, rec.Person, rec.Role, digest, r.c.base, rec.Expires.Format(time.RFC3339))
	printApprovalStatus(r.g.stdout, out.Status)
	return nil
}

// digestOf resolves what an approval is about: a plan file (uploaded), a
// full digest, or a run ID (its plan).
func (r *remote) digestOf(ctx context.Context, arg string) (string, error) {
	if _, err := os.Stat(arg); err == nil {
		return r.uploadPlan(ctx, arg)
	}
	if _, err := hex.DecodeString(arg); err == nil && len(arg) == 64 {
		return arg, nil
	}
	d, err := r.c.runDetail(ctx, arg)
	if err != nil {
		var ee *ExitError
		if errors.As(err, &ee) && ee.Code == ExitUsage {
			return "", usageError("%q is not a plan file, a full plan digest or a run ID the server %s knows", arg, r.c.base)
		}
		return "", err
	}
	return d.Run.PlanDigest, nil
}
