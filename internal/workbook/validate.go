package workbook

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"

	"github.com/voicedr/voicedr/internal/region"
)

// Validate checks a workbook built in code (or decoded elsewhere) with the
// same rules Parse applies; errors carry field paths but no positions.
func (w *Workbook) Validate() error {
	if es := w.validate(nil); len(es) > 0 {
		return es
	}
	return nil
}

// checker collects errors; pos maps a field path to where it was written
// (nil when there is no file).
type checker struct {
	pos  func(string) Pos
	errs Errors
}

func (c *checker) add(path, format string, args ...any) {
	var p Pos
	if c.pos != nil {
		p = c.pos(path)
	}
	c.errs = append(c.errs, Error{Pos: p, Field: path, Msg: fmt.Sprintf(format, args...)})
}

func (w *Workbook) validate(pos func(string) Pos) Errors {
	c := &checker{pos: pos}
	c.structural(reflect.ValueOf(w).Elem(), "")
	if w.Version != 0 && w.Version != SchemaVersion {
		c.add("version", "version %d is not supported by this voicedr; write version: %d instead", w.Version, SchemaVersion)
	}
	regions := c.regions(w.Regions)
	flows := c.flows(w)
	c.numberTags(w.NumberTags)
	signals := c.signals(w.Signals, regions)
	gates := c.gates(w.Gates, signals)
	c.flowRefs(w, signals, gates)
	c.governance(&w.Governance)
	c.notifications(w.Notifications)
	c.hooks(w.Hooks, flows)
	c.triggers(w.Triggers, signals, flows)
	c.drills(w.Drills, w.Flows, flows)
	c.attestations(w.Attestations, regions)
	c.execution(&w.Execution, regions)
	return c.errs
}

func (c *checker) execution(x *Execution, regions map[region.Region]bool) {
	for i, r := range x.RoutesWrite {
		c.declaredRegion(fmt.Sprintf("execution.routes_write[%d]", i), string(r), regions)
	}
	if x.CallerID != "" {
		c.e164("execution.caller_id", x.CallerID)
	}
	if x.CallsPerSecond < 0 {
		c.add("execution.calls_per_second", "%g is negative; write the account's CPS such as 1 instead", x.CallsPerSecond)
	}
	if x.MaxRoutingWrite < 0 || x.MaxRoutingWrite > 250 {
		c.add("execution.max_routing_writes_per_second", "%g is out of range; write a rate above 0 and at most 250 (Twilio asks for under 300/s) instead", x.MaxRoutingWrite)
	}
	if x.Proof.Sample < 0 {
		c.add("execution.proof.sample", "%d is negative; write how many numbers per cohort to prove, such as 3", x.Proof.Sample)
	}
	if x.Proof.Wait < 0 || x.Proof.Interval < 0 {
		c.add("execution.proof", "wait and interval must not be negative; write durations such as 6m and 5s")
	}
}

// structural applies the struct tags everywhere: required fields present and
// enum fields holding a listed value. Numbers and booleans are not checked
// for presence because zero is a meaningful value for them.
func (c *checker) structural(v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			c.structural(v.Elem(), path)
		}
	case reflect.Slice:
		for i := range v.Len() {
			c.structural(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			c.structural(v.MapIndex(k), fmt.Sprintf("%s[%q]", path, k.String()))
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				c.structural(v.Field(i), path)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || !f.IsExported() {
				continue
			}
			fv, fp := v.Field(i), join(path, name)
			k := fv.Kind()
			if f.Tag.Get("wb") == "required" && fv.IsZero() && k != reflect.Bool && k != reflect.Float64 {
				if fv.Type() == durationType {
					c.add(fp, "missing or zero; write %s: with a Go duration such as 15m", name)
				} else {
					c.add(fp, "missing; write %s: here", name)
				}
				continue
			}
			if enum := f.Tag.Get("enum"); enum != "" && k == reflect.String && fv.String() != "" {
				if !strings.Contains(","+enum+",", ","+fv.String()+",") {
					c.add(fp, "%q is not allowed; write one of %s instead", fv.String(), strings.ReplaceAll(enum, ",", ", "))
				}
			}
			c.structural(fv, fp)
		}
	}
}

var (
	e164Re       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	countryRe    = regexp.MustCompile(`^\+[1-9][0-9]{0,2}$`)
	accountSIDRe = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	dateRe       = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

func (c *checker) e164(path, s string) bool {
	if !e164Re.MatchString(s) {
		c.add(path, "%q is not an E.164 number; write + and the country code and number with no spaces, e.g. \"+14155550100\", instead", s)
		return false
	}
	return true
}

func (c *checker) countries(path string, cs []string) {
	for i, s := range cs {
		if !countryRe.MatchString(s) {
			c.add(fmt.Sprintf("%s[%d]", path, i), "%q is not an E.164 country calling code; write + and 1 to 3 digits such as \"+44\" or \"+1\" (not ISO codes like GB) instead", s)
		}
	}
}

// unique reports names used twice in a section and returns the set of names.
func (c *checker) unique(section string, names []string) map[string]bool {
	seen := map[string]int{}
	for i, n := range names {
		if n == "" {
			continue
		}
		if j, dup := seen[n]; dup {
			c.add(fmt.Sprintf("%s[%d].name", section, i), "%q is already used by %s[%d]; write a unique name instead", n, section, j)
			continue
		}
		seen[n] = i
	}
	set := make(map[string]bool, len(seen))
	for n := range seen {
		set[n] = true
	}
	return set
}

// regions checks the profiles and roles and returns the declared regions.
func (c *checker) regions(rs []RegionProfile) map[region.Region]bool {
	declared := map[region.Region]bool{}
	primaries, standbys := 0, 0
	for i, rp := range rs {
		p := fmt.Sprintf("regions[%d]", i)
		r, err := region.Parse(string(rp.Region))
		switch {
		case rp.Region == "":
			c.add(p+".region", "missing; write region: with one of %s", strings.Join(region.Names(), ", "))
		case err != nil:
			c.add(p+".region", "%q is not a Twilio region; write one of %s instead", rp.Region, strings.Join(region.Names(), ", "))
		case declared[r]:
			c.add(p+".region", "%s is declared twice; write each region once instead", r)
		default:
			declared[r] = true
			// Profile.Validate is the region package's own check of region
			// and edge; the fields that could echo a secret are cleared so
			// its message can be shown as is.
			edgeOnly := region.Profile{Region: rp.Region, Edge: rp.Edge}
			if err := edgeOnly.Validate(); err != nil {
				c.add(p+".edge", "%q is not an edge Twilio accepts for %s; write edge: %s instead", rp.Edge, r, r.HomeEdge())
			}
		}
		if rp.AccountSID != "" && !accountSIDRe.MatchString(rp.AccountSID) {
			// Not echoed: a malformed SID is often a token pasted in the wrong place.
			c.add(p+".account_sid", "not an account SID; write AC followed by 32 hex digits instead")
		}
		prefix := "TWILIO_" + strings.ToUpper(string(rp.Region)) + "_"
		if err == nil {
			prefix = r.EnvPrefix()
		}
		for _, f := range []struct {
			name string
			ref  region.CredentialRef
		}{{"api_key", rp.APIKey}, {"api_secret", rp.APISecret}, {"auth_token", rp.AuthToken}} {
			c.credential(p+"."+f.name, f.ref, "env:"+prefix+strings.ToUpper(f.name))
		}
		switch rp.Role {
		case RolePrimary:
			primaries++
		case RoleStandby:
			standbys++
		}
		c.appURLs(p+".app", rp.App)
	}
	if len(rs) > 0 && primaries != 1 {
		c.add("regions", "%d regions have role: primary; write role: primary on exactly one region instead", primaries)
	}
	if len(rs) > 0 && standbys == 0 {
		c.add("regions", "no region has role: standby, so flows have nowhere to move; add a region with role: standby (e.g. ie1)")
	}
	return declared
}

// credential checks a secret reference without ever printing an inline value.
func (c *checker) credential(path string, ref region.CredentialRef, suggest string) {
	err := ref.Validate()
	if err == nil {
		return
	}
	s := string(ref)
	if strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:") {
		c.add(path, "%v; write %s instead", err, suggest)
		return
	}
	c.add(path, "a secret is written inline (never put one in a file kept in git); write %s or file:PATH instead", suggest)
}

func (c *checker) appURLs(path string, a AppEndpoints) {
	for _, u := range []struct{ name, v string }{
		{"voice_url", a.VoiceURL}, {"fallback_url", a.FallbackURL}, {"status_callback", a.StatusCallback}, {"health_url", a.HealthURL},
	} {
		c.url(path+"."+u.name, u.v, false)
	}
}

// secretParams are query parameter names that carry credentials.
var secretParams = []string{"token", "key", "secret", "password", "passwd", "pass", "sig", "signature", "auth", "apikey", "credential"}

// url checks an http(s) URL. It never prints the URL, which may hold a secret.
// refOK allows env:/file: references for URLs that must carry a token.
func (c *checker) url(path, s string, refOK bool) {
	if s == "" {
		return
	}
	if refOK && (strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:")) {
		c.credential(path, region.CredentialRef(s), "env:NAME")
		return
	}
	fix := "remove it (Twilio signs its requests: check X-Twilio-Signature instead)"
	if refOK {
		fix = "put the whole URL in an environment variable and write env:NAME instead"
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		c.add(path, "not an absolute http(s) URL; write https://host/path instead")
		return
	}
	if _, hasPass := u.User.Password(); hasPass {
		c.add(path, "the URL carries a password, which is a secret; %s", fix)
		return
	}
	for name := range u.Query() {
		l := strings.ToLower(name)
		for _, sp := range secretParams {
			if strings.Contains(l, sp) {
				c.add(path, "query parameter %q carries a secret; %s", name, fix)
				return
			}
		}
	}
}

// thresholds check that a bound fits its unit.
func (c *checker) threshold(path string, t Threshold) {
	switch {
	case t.Unit == "percent" && (t.Value < 0 || t.Value > 100):
		c.add(path+".value", "%g is out of range for a percentage; write a value from 0 to 100 instead", t.Value)
	case t.Unit == "ratio" && (t.Value < 0 || t.Value > 1):
		c.add(path+".value", "%g is out of range for a ratio; write a value from 0 to 1 instead", t.Value)
	case t.Value < 0:
		c.add(path+".value", "%g is negative; write a value of 0 or more instead", t.Value)
	}
}
