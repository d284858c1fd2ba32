package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/voicedr/voicedr/internal/decision"
	"github.com/voicedr/voicedr/internal/execute"
	"github.com/voicedr/voicedr/internal/hooks"
	"github.com/voicedr/voicedr/internal/inventory"
	"github.com/voicedr/voicedr/internal/notify"
	"github.com/voicedr/voicedr/internal/plan"
	"github.com/voicedr/voicedr/internal/schedule"
	"github.com/voicedr/voicedr/internal/server"
	"github.com/voicedr/voicedr/internal/signals"
	"github.com/voicedr/voicedr/internal/signing"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/store/sqlite"
	"github.com/voicedr/voicedr/internal/ui"
)

// newServeCmd is the daemon: the HTTP API, dashboard and metrics, region
// probes and readiness on a schedule, and runs executed in the process
// (resumed from the ledger when it starts again).
func newServeCmd(g *globals) *cobra.Command {
	var (
		tf                     twilioFlags
		listen, wbPath, dbPath string
		probeEvery, readyEvery time.Duration
		leaseTTL, drain        time.Duration
		workers                int
		keyPath                string
		evalEvery, drillEvery  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the voicedr server: HTTP API (/v1), dashboard, /metrics, scheduled checks, runs",
		Long: `serve runs voicedr as a daemon. Every /v1 call and /metrics needs a person's API token
(voicedr token create --person NAME) and the role the workbook gives them; /healthz and /readyz
need none. Runs applied through the API execute inside the server; one the database shows as
running when the server starts (it was stopped or died mid-run) is resumed from its ledger.
SIGINT or SIGTERM stops it gracefully: requests drain, runs stop at their next ledger write and
resume on the next start. The workbook's drills keep their cadence: due tabletop drills run in
the process, and due live drills are announced to the notification targets (event drill.due).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			wb, _, err := loadWorkbook(wbPath)
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			set, pool, err := tf.clients(g, g.getenv, reg)
			if err != nil {
				return err
			}
			defer pool.Close()
			db, err := sqlite.Open(ctx, dbPath)
			if err != nil {
				return fmt.Errorf("open --db %s: %w", dbPath, err)
			}
			defer db.Close()
			fail := failpoint(g.getenv("VOICEDR_FAILPOINT"))
			log, err := openAudit(db, keyPath)
			if err != nil {
				return err
			}
			read := func(ctx context.Context) (*snapshot.Snapshot, error) {
				return inventory.Read(ctx, set, inventory.Options{})
			}
			notifier := &notify.Notifier{Targets: wb.Notifications, Getenv: g.getenv, Logger: g.logger}
			notifier.Start(ctx)
			defer func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				_ = notifier.Close(cctx)
			}()
			watcher := &decision.Watcher{
				Workbook: wb, Env: signals.Env{Set: set, Logger: g.logger}, Store: db, Interval: evalEvery,
				Snapshot: cachedSnapshot(read, evalEvery), Logger: g.logger,
				Audit: func(ctx context.Context, kind, actor, subject string, body any) error {
					_, err := log.Append(ctx, kind, actor, subject, body)
					return err
				},
				Notify: decisionNotifier(ctx, notifier, log, g.logger),
			}
			srv, err := server.New(server.Options{
				Store: db, Workbook: wb, Set: set, Registerer: reg, Logger: g.logger,
				ProbeInterval: probeEvery, ReadinessInterval: readyEvery,
				NewEngine: func(p *plan.Plan) *execute.Engine {
					return &execute.Engine{
						Audit:     log,
						Store:     db,
						Router:    &execute.TwilioRoutes{Set: set, Order: p.RoutesWrite},
						Signals:   execute.TwilioSignals{Env: signals.Env{Set: set, Logger: g.logger}},
						Hooks:     &hooks.Runner{Logger: g.logger, Getenv: g.getenv},
						Logger:    g.logger,
						Failpoint: fail,
						Workers:   workers,
						LeaseTTL:  leaseTTL,
					}
				},
				Snapshot: read,
				UI:       ui.Handler(),
				Audit:    log, Auditor: auditVerifier{log}, Decisions: openDecisions{db}, Steps: decisionSteps{watcher},
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usageError("--listen %s: %v", listen, err)
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
				ErrorLog: nil}
			g.logger.Info("voicedr serve listening", "url", "http://"+ln.Addr().String(), "workbook", wbPath, "db", dbPath)
			var wg sync.WaitGroup
			runErr := make(chan error, 1)
			wg.Go(func() { runErr <- srv.Run(ctx) })
			if len(wb.Triggers) > 0 {
				wg.Go(func() {
					if err := watcher.Run(ctx); err != nil && ctx.Err() == nil {
						g.logger.Error("decision watcher stopped", "err", err)
					}
				})
			}
			if len(wb.Drills) > 0 {
				drills := newDrillScheduler(ctx, g, wb, db, notifier, log, drillEvery)
				wg.Go(func() {
					if err := drills.Run(ctx); err != nil && ctx.Err() == nil {
						g.logger.Error("drill scheduler stopped", "err", err)
					}
				})
			}
			serveErr := make(chan error, 1)
			go func() { serveErr <- hs.Serve(ln) }()
			select {
			case <-ctx.Done():
			case err := <-serveErr:
				stop()
				wg.Wait()
				return fmt.Errorf("http server: %w", err)
			}
			g.logger.Info("shutting down: draining requests and stopping runs (they resume on the next start)")
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil {
				g.logger.Warn("requests still in flight at the drain deadline", "err", err)
			}
			if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
				g.logger.Warn("http server", "err", err)
			}
			wg.Wait()
			return <-runErr
		},
	}
	tf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on (host:port)")
	f.StringVar(&wbPath, "workbook", "voicedr.yaml", "the workbook: flows, people, roles and the approval policy")
	f.StringVar(&dbPath, "db", "voicedr.db", "state database (SQLite): runs, ledger, approvals, tokens, audit")
	f.DurationVar(&probeEvery, "probe-interval", 30*time.Second, "how often every region is probed")
	f.DurationVar(&readyEvery, "readiness-interval", 5*time.Minute, "how often the account is read and every flow's readiness checked")
	f.DurationVar(&leaseTTL, "lease-ttl", 30*time.Second, "how long a killed server keeps its runs' leases")
	f.IntVar(&workers, "workers", 64, "routing writes in flight per run (the shared --rate and --max-in-flight still apply)")
	f.StringVar(&keyPath, "signing-key", signing.PrivateFile, signingKeyHelp)
	f.DurationVar(&evalEvery, "trigger-interval", 30*time.Second, "how often the workbook's triggers are evaluated")
	f.DurationVar(&drillEvery, "drill-interval", schedule.DefaultInterval, "how often the workbook's drill cadence is checked: due tabletop drills run, due live drills are reminded of")
	f.DurationVar(&drain, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on shutdown")
	return cmd
}
