package zones

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// rrlBase is a minimal config that the [rrl] cases append to.
const rrlBase = `[[zone]]
origin = "contoso.lab"
records = ["@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 300", "www 300 IN A 10.1.1.10"]
`

func TestRateLimitConfig(t *testing.T) {
	cases := []struct {
		name string
		rrl  string
		want *RateLimit
		err  string // the whole error text, "" for none
	}{
		{name: "absent: off", rrl: "", want: nil},
		{name: "no rate: off", rrl: "[rrl]\nslip = 1\n", want: nil},
		{name: "zero rate: off", rrl: "[rrl]\nresponses_per_second = 0\n", want: nil},
		{
			name: "defaults",
			rrl:  "[rrl]\nresponses_per_second = 5\n",
			want: &RateLimit{ResponsesPerSecond: 5, NXDomainsPerSecond: 5, ErrorsPerSecond: 5,
				Window: 15 * time.Second, Slip: 2, IPv4Prefix: 24, IPv6Prefix: 56},
		},
		{
			name: "everything set",
			rrl: `[rrl]
responses_per_second = 10
nxdomains_per_second = 3
errors_per_second = 2
window = 5
slip = 0
ipv4_prefix = 16
ipv6_prefix = 48
exempt = ["127.9.0.0/16", "::1"]
`,
			want: &RateLimit{ResponsesPerSecond: 10, NXDomainsPerSecond: 3, ErrorsPerSecond: 2,
				Window: 5 * time.Second, Slip: 0, IPv4Prefix: 16, IPv6Prefix: 48,
				Exempt: []netip.Prefix{netip.MustParsePrefix("127.9.0.0/16"), netip.MustParsePrefix("::1/128")}},
		},
		{
			name: "bad values name their line",
			rrl: `[rrl]
responses_per_second = 10
window = 0
slip = 11
ipv4_prefix = 33
ipv6_prefix = 0
exempt = ["10.0.0.0/33"]
`,
			err: `rrl.toml:6: rrl: window: "0": want 1 to 3600
rrl.toml:7: rrl: slip: "11": want 0 to 10
rrl.toml:8: rrl: ipv4_prefix: "33": want 1 to 32
rrl.toml:9: rrl: ipv6_prefix: "0": want 1 to 128
rrl.toml:10: rrl: exempt: "10.0.0.0/33": not a prefix (want e.g. 10.2.0.0/16)`,
		},
		{
			name: "negative rate",
			rrl:  "[rrl]\nresponses_per_second = -1\n",
			err:  `rrl.toml:5: rrl: responses_per_second: "-1": want 0 to 1000000`,
		},
		{
			name: "class rate without a rate",
			rrl:  "[rrl]\nerrors_per_second = 3\n",
			err:  `rrl.toml:4: rrl: responses_per_second: required (> 0) when nxdomains_per_second or errors_per_second is set`,
		},
		{
			name: "unknown key",
			rrl:  "[rrl]\nresponses_per_second = 5\nrate = 5\n",
			err:  `rrl.toml:6: rrl.rate: unknown key`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := Parse("rrl.toml", "", []byte(rrlBase+tc.rrl), nil)
			if tc.err != "" {
				if err == nil {
					t.Fatalf("no error, want\n%s", tc.err)
				}
				if got := strings.TrimSpace(err.Error()); got != tc.err {
					t.Fatalf("error:\n%s\nwant:\n%s", got, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(snap.RateLimit, tc.want) {
				t.Errorf("RateLimit = %+v, want %+v", snap.RateLimit, tc.want)
			}
		})
	}
}
