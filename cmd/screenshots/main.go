// Command screenshots writes PNG screenshots of the dashboard's main pages,
// on a desktop and on a phone screen, for the docs:
//
//	go run ./cmd/screenshots -out docs/screenshots
//
// By default it serves the embedded dashboard with a built-in demo API (a
// region degraded, a flow with gaps, a decision waiting for approval, a run
// moving its cohorts), so the pictures need no emulator and no account.
// With -server and -token it photographs a running `voicedr serve` instead.
// It drives Debian's chromium (apt-get install chromium) through chromedp.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

type page struct {
	name, route, ready string // file name, hash route, selector shown when loaded
}

var pages = []page{
	{"overview", "#/", `[data-testid="regions"], [data-testid="summary-flows"]`},
	{"flows", "#/flows", `[data-testid="flow"], [data-testid="main"] h1 + p`},
	{"decision", "#/decisions", `[data-testid="decision"], [data-testid="no-decisions"]`},
	{"run", "#/run", `[data-testid="cohort"], [data-testid="no-active-run"]`},
	{"approvals", "#/approvals", `[data-testid="approval"], [data-testid="inbox-empty"]`},
	{"runs", "#/runs", `[data-testid="run-row"], [data-testid="no-runs"]`},
	{"audit", "#/audit", `[data-testid="audit-verify"]`},
}

var screens = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"desktop", 1280, 900, false},
	{"phone", 390, 844, true},
}

func main() {
	out := flag.String("out", "docs/screenshots", "directory the PNG files are written to")
	server := flag.String("server", "", "URL of a running voicedr serve (default: a built-in demo API)")
	token := flag.String("token", "", "API token for -server (default: $VOICEDR_TOKEN)")
	chromium := flag.String("chromium", "", "path of chromium (default: /usr/bin/chromium or chromium on PATH)")
	timeout := flag.Duration("timeout", 2*time.Minute, "time allowed for all the screenshots")
	flag.Parse()
	if err := run(*out, *server, *token, *chromium, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

func run(out, server, token, chromium string, timeout time.Duration) error {
	if chromium == "" {
		chromium = findChromium()
		if chromium == "" {
			return errors.New("chromium not found: install it (apt-get install chromium) or pass -chromium PATH")
		}
	}
	if server == "" {
		demo := httptest.NewServer(demoHandler())
		defer demo.Close()
		server, token = demo.URL, demoToken
	} else if token == "" {
		token = os.Getenv("VOICEDR_TOKEN")
		if token == "" {
			return errors.New("-server needs -token (or VOICEDR_TOKEN): create one with voicedr token create --person NAME")
		}
	}
	server = strings.TrimRight(server, "/")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Flag("hide-scrollbars", true))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		return fmt.Errorf("start %s: %w", chromium, err)
	}
	ctx, cancel := context.WithTimeout(browser, timeout)
	defer cancel()

	for _, sc := range screens {
		tab, cancelTab := chromedp.NewContext(ctx)
		opts := []chromedp.EmulateViewportOption{}
		if sc.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait, chromedp.EmulateScale(2))
		}
		// Log in through the login page, as a person would.
		err := chromedp.Do(tab,
			chromedp.EmulateViewport(sc.width, sc.height, opts...),
			chromedp.Navigate(server+"/#/login"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="token-input"]`)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="token-input"]`), token),
			chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#nav:not([hidden])`)))
		if err != nil {
			cancelTab()
			return fmt.Errorf("log in (%s): %w", sc.name, err)
		}
		for _, p := range pages {
			png, err := shoot(tab, p)
			if err != nil {
				cancelTab()
				return fmt.Errorf("%s (%s): %w", p.name, sc.name, err)
			}
			file := filepath.Join(out, p.name+"-"+sc.name+".png")
			if err := os.WriteFile(file, png, 0o644); err != nil {
				cancelTab()
				return err
			}
			fmt.Println(file)
		}
		cancelTab()
	}
	return nil
}

// shoot moves the app to a page (a hash change, not a page load), waits
// for its content and captures the whole page.
func shoot(tab context.Context, p page) ([]byte, error) {
	err := chromedp.Do(tab,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[string](fmt.Sprintf("location.hash = %q", p.route))(ctx, t)
			return err
		}),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="main"] h1`)),
		chromedp.WaitVisible(chromedp.CSS(p.ready)),
		// Let a chart or a live update settle; the picture is not a test.
		chromedp.Sleep(300*time.Millisecond))
	if err != nil {
		return nil, err
	}
	return chromedp.Run(tab, chromedp.FullScreenshot(100))
}

func findChromium() string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}
