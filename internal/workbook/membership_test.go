package workbook_test

import (
	"testing"

	"github.com/voicedr/voicedr/internal/snapshot"
	"github.com/voicedr/voicedr/internal/workbook"
)

func TestFlowOf(t *testing.T) {
	w := &workbook.Workbook{
		NumberTags: map[string][]string{"+442071838750": {"vip"}},
		Flows: []workbook.Flow{
			{Name: "uk-support", Selectors: workbook.Selectors{FriendlyNamePrefix: []string{"support-"}, Countries: []string{"+44"}}},
			{Name: "vip", Selectors: workbook.Selectors{Tags: []string{"vip"}}},
			{Name: "hotline", Numbers: []string{"+14155550100"}},
			{Name: "support", Selectors: workbook.Selectors{FriendlyNamePrefix: []string{"support-"}}},
		},
	}
	for _, tt := range []struct {
		n    snapshot.Number
		want string
	}{
		{snapshot.Number{PhoneNumber: "+442071838751", FriendlyName: "support-001"}, "uk-support"},
		{snapshot.Number{PhoneNumber: "+14155550101", FriendlyName: "support-002"}, "support"},
		{snapshot.Number{PhoneNumber: "+442071838750", FriendlyName: "sales-001"}, "vip"},
		{snapshot.Number{PhoneNumber: "+14155550100", FriendlyName: "support-003"}, "hotline"},
		{snapshot.Number{PhoneNumber: "+14155550102", FriendlyName: "sales-002"}, ""},
	} {
		got, ok := w.FlowOf(tt.n)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("FlowOf(%s %s) = %q %v, want %q", tt.n.PhoneNumber, tt.n.FriendlyName, got, ok, tt.want)
		}
	}
}
