package zones

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestNameProblem: nameProblem measures the wire form, escapes included,
// at the 63- and 255-octet edges; every name it passes packs.
func TestNameProblem(t *testing.T) {
	l63 := strings.Repeat("a", 63)
	tests := []struct {
		name string
		ok   bool
	}{
		{"a.b.", true},
		{l63 + ".lab.", true},
		{l63 + "a.lab.", false},
		{strings.Repeat(`\097`, 63) + ".lab.", true}, // 63 octets written as 252 characters
		{strings.Repeat(`\.`, 64) + ".lab.", false},
		{strings.Join([]string{l63, l63, l63, strings.Repeat("b", 61)}, ".") + ".", true},  // 255
		{strings.Join([]string{l63, l63, l63, strings.Repeat("b", 62)}, ".") + ".", false}, // 256
		{strings.Join([]string{l63, l63, l63, strings.Repeat("b", 61)}, "."), true},        // not fully qualified
	}
	for _, tc := range tests {
		p := nameProblem(tc.name)
		if (p == "") != tc.ok {
			t.Errorf("nameProblem(%.20q…) = %q, want ok %v", tc.name, p, tc.ok)
		}
		buf := make([]byte, 512)
		_, err := dns.PackDomainName(dns.Fqdn(tc.name), buf, 0, nil, false)
		if tc.ok && err != nil {
			t.Errorf("%.20q…: does not pack: %v", tc.name, err)
		}
	}
}
