package region_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/voicedr/voicedr/internal/region"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		host    string
		want    region.HostInfo
		wantErr bool
	}{
		{host: "api.twilio.com", want: region.HostInfo{Product: "api", Edge: "ashburn", Region: region.US1, Legacy: true}},
		{host: "routes.twilio.com:443", want: region.HostInfo{Product: "routes", Edge: "ashburn", Region: region.US1, Legacy: true}},
		{host: "api.dublin.ie1.twilio.com", want: region.HostInfo{Product: "api", Edge: "dublin", Region: region.IE1}},
		{host: "trunking.sydney.au1.twilio.com", want: region.HostInfo{Product: "trunking", Edge: "sydney", Region: region.AU1}},
		{host: "api.umatilla.us1.twilio.com", want: region.HostInfo{Product: "api", Edge: "umatilla", Region: region.US1}},
		// The retired edgeless form always processed in us1: never ie1.
		{host: "api.ie1.twilio.com", want: region.HostInfo{Product: "api", Edge: "ashburn", Region: region.US1, Retired: true}},
		{host: "API.Dublin.IE1.Twilio.com", want: region.HostInfo{Product: "api", Edge: "dublin", Region: region.IE1}},
		{host: "api.dublin.xx9.twilio.com", wantErr: true},
		{host: "example.com", wantErr: true},
		{host: "127.0.0.1:8080", wantErr: true},
		{host: "a.b.c.d.twilio.com", wantErr: true},
	}
	for _, tt := range tests {
		got, err := region.ParseHost(tt.host)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseHost(%q) error = %v, wantErr %v", tt.host, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseHost(%q) (-want +got):\n%s", tt.host, diff)
		}
	}
}

func TestHostRoundTrips(t *testing.T) {
	for _, r := range region.All {
		h := region.Host("routes", r, "")
		got, err := region.ParseHost(h)
		if err != nil || got.Region != r || got.Edge != r.HomeEdge() || got.Product != "routes" {
			t.Errorf("ParseHost(Host(routes, %s)) = %+v, %v", r, got, err)
		}
	}
}

func TestValidEdge(t *testing.T) {
	for _, tt := range []struct {
		r    region.Region
		edge string
		want bool
	}{
		{region.IE1, "dublin", true}, {region.IE1, "ashburn", false}, {region.AU1, "sydney", true},
		{region.AU1, "dublin", false}, {region.US1, "ashburn", true}, {region.US1, "umatilla", true},
		{region.US1, "sydney", true}, {region.US1, "roaming", false}, {region.US1, "nowhere", false},
	} {
		if got := tt.r.ValidEdge(tt.edge); got != tt.want {
			t.Errorf("%s.ValidEdge(%q) = %v, want %v", tt.r, tt.edge, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	if r, err := region.Parse(" IE1 "); err != nil || r != region.IE1 {
		t.Errorf("Parse(IE1) = %q, %v", r, err)
	}
	if _, err := region.Parse("jp1"); err == nil {
		t.Errorf("Parse(jp1) succeeded; JP1 is not a voice processing region")
	}
}

func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"api.twilio.com", "api.dublin.ie1.twilio.com", "x.ie1.twilio.com", "", ".twilio.com", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		h, err := region.ParseHost(host)
		if err != nil {
			return
		}
		if _, perr := region.Parse(string(h.Region)); perr != nil {
			t.Fatalf("ParseHost(%q) returned unknown region %q", host, h.Region)
		}
	})
}
