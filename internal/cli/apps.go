package cli

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/voicedr/voicedr/internal/region"
	"github.com/voicedr/voicedr/internal/sampleapp"
	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/twilioemu"
)

// localApps runs one sample customer app per region, in process, and points
// every webhook of the seeded account at them, as tabletop copies do: no
// call of the demo or of `emulator --sample-apps` can reach anything outside
// this machine.
type localApps struct {
	apps    map[string]*sampleapp.App
	base    map[string]string // region → http://127.0.0.1:port
	servers []*http.Server
}

func (d *localApps) beforeSeed(emu *twilioemu.Emulator, s *snapshot.Snapshot) error {
	d.apps = map[string]*sampleapp.App{}
	d.base = map[string]string{}
	base := d.base
	for r, c := range emu.Credentials() {
		app, err := sampleapp.New(sampleapp.Options{Region: r, AuthToken: region.NewSecret(c.AuthToken)})
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		d.apps[string(r)], d.servers = app, append(d.servers, srv)
		base[string(r)] = "http://" + ln.Addr().String()
	}
	s.RewriteWebhooks(d.rewrite)
	return nil
}

// rewrite maps a customer webhook URL of region r to the region's sample
// app endpoint of its kind: the demo applies it to the seed and to its
// workbook alike, so the two agree as a customer's account and workbook do.
func (d *localApps) rewrite(r string, k snapshot.WebhookKind, u string) string {
	if u == "" {
		return ""
	}
	switch k {
	case snapshot.WebhookFallback:
		return d.base[r] + "/fallback"
	case snapshot.WebhookStatus:
		return d.base[r] + "/status"
	}
	return d.base[r] + "/voice"
}

func (d *localApps) close() {
	for _, s := range d.servers {
		s.Close()
	}
}

// writeEnv adds VOICEDR_SAMPLE_APP_<REGION>=URL lines to an env file, so
// scripts and tests can point a workbook at the apps or change their mode.
func (d *localApps) writeEnv(w io.Writer) error {
	var rs []string
	for r := range d.base {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	for _, r := range rs {
		if _, err := fmt.Fprintf(w, "export VOICEDR_SAMPLE_APP_%s=%s\n", strings.ToUpper(r), d.base[r]); err != nil {
			return err
		}
	}
	return nil
}
