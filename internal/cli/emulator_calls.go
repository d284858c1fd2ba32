package cli

import (
	"github.com/spf13/pflag"

	"github.com/voicedr/voicedr/internal/twilioemu"
)

// callFlags are the emulator's live-call settings: Twilio's webhook timers,
// what a call record says after an application error, the Calls API rate,
// and Insights' lag. Defaults are Twilio's, except the lag (zero).
type callFlags struct {
	opts twilioemu.Options
}

func (c *callFlags) register(f *pflag.FlagSet) {
	f.DurationVar(&c.opts.WebhookConnectTimeout, "webhook-connect-timeout", 0, "time to connect to a customer webhook (Twilio: 10s)")
	f.DurationVar(&c.opts.WebhookTimeout, "webhook-timeout", 0, "total time for a webhook answer (Twilio: 15s)")
	f.StringVar(&c.opts.AppErrorCallStatus, "app-error-call-status", "completed", "Call status when webhook and fallback both fail (Twilio's records can read completed)")
	f.Float64Var(&c.opts.CallsPerSecond, "calls-per-second", 1, "Calls API rate of the account; calls beyond it stay queued (Twilio's default 1)")
	f.DurationVar(&c.opts.InsightsPartialLag, "insights-lag", 0, "delay before a call's partial Insights summary appears (Twilio: minutes)")
	f.DurationVar(&c.opts.InsightsCompleteLag, "insights-complete-lag", 0, "delay before the summary is complete (Twilio: up to ~30m)")
}

// apply copies the settings into the emulator's options.
func (c *callFlags) apply(o *twilioemu.Options) {
	o.WebhookConnectTimeout, o.WebhookTimeout = c.opts.WebhookConnectTimeout, c.opts.WebhookTimeout
	o.AppErrorCallStatus, o.CallsPerSecond = c.opts.AppErrorCallStatus, c.opts.CallsPerSecond
	o.InsightsPartialLag, o.InsightsCompleteLag = c.opts.InsightsPartialLag, c.opts.InsightsCompleteLag
}
