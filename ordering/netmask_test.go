package ordering

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseNetmask(t *testing.T) {
	tests := []struct {
		in      string
		want    Netmask
		wantErr string // substring of the error; "" for success
	}{
		{in: "255.255.255.0", want: prefixNetmask(24)},
		{in: "255.255.0.0", want: prefixNetmask(16)},
		{in: "255.0.0.0", want: prefixNetmask(8)},
		{in: "255.255.255.192", want: prefixNetmask(26)},
		{in: "255.255.255.255", want: prefixNetmask(32)},
		{in: "0.0.0.0", want: prefixNetmask(0)},
		{in: "/0", want: prefixNetmask(0)},
		{in: "/16", want: prefixNetmask(16)},
		{in: "/24", want: prefixNetmask(24)},
		{in: "/32", want: prefixNetmask(32)},
		{in: "0x000000FF", want: prefixNetmask(24)},
		{in: "0x000000ff", want: prefixNetmask(24)},
		{in: "0XFF", want: prefixNetmask(24)},
		{in: "0x0000FFFF", want: prefixNetmask(16)},
		{in: "0x00FFFFFF", want: prefixNetmask(8)},
		{in: "0x0000003F", want: prefixNetmask(26)},
		{in: "0x0000007F", want: prefixNetmask(25)},
		{in: "0x0000001F", want: prefixNetmask(27)},
		{in: "0x00000000", want: prefixNetmask(32)},
		{in: "0x7FFFFFFF", want: prefixNetmask(1)},
		{in: "0xFFFFFFFF", want: classfulNetmask()},
		{in: "classful", want: classfulNetmask()},

		{in: "0x000000FE", wantErr: `bad netmask "0x000000FE": host bits must be contiguous`},
		{in: "0x000001FE", wantErr: `"0x000001FE"`},
		{in: "0x0000FF00", wantErr: `contiguous`},
		{in: "0x1FFFFFFFF", wantErr: `"0x1FFFFFFFF"`},
		{in: "0x", wantErr: `bad netmask "0x"`},
		{in: "0xGG", wantErr: `"0xGG"`},
		{in: "/33", wantErr: `bad netmask "/33": prefix length`},
		{in: "/-1", wantErr: `"/-1"`},
		{in: "/", wantErr: `"/"`},
		{in: "/24 ", wantErr: `"/24 "`},
		{in: "255.0.255.0", wantErr: `bad netmask "255.0.255.0": the network bits must be contiguous`},
		{in: "0.255.255.255", wantErr: `contiguous`},
		{in: "abc", wantErr: `bad netmask "abc": want a dotted quad`},
		{in: "", wantErr: `bad netmask ""`},
		{in: "24", wantErr: `bad netmask "24"`},
		{in: "ffff:ffff::", wantErr: `"ffff:ffff::"`},
		{in: "::ffff:255.255.255.0", wantErr: `"::ffff:255.255.255.0"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNetmask(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseNetmask(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseNetmask(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			// Every Netmask round-trips through String.
			back, err := ParseNetmask(got.String())
			if err != nil || back != got {
				t.Fatalf("ParseNetmask(%q) = %v, %v; want %v", got.String(), back, err, got)
			}
		})
	}
}

func TestNetmaskBits(t *testing.T) {
	tests := []struct {
		mask   Netmask
		client string
		want   int
	}{
		{DefaultNetmask(), "10.2.1.77", 24},
		{Netmask{}, "10.2.1.77", 24}, // the zero value is the default
		{prefixNetmask(16), "192.168.1.1", 16},
		{classfulNetmask(), "10.4.3.2", 8},           // class A
		{classfulNetmask(), "127.0.0.1", 8},          // class A
		{classfulNetmask(), "128.0.0.1", 16},         // class B
		{classfulNetmask(), "172.16.20.4", 16},       // class B
		{classfulNetmask(), "191.255.0.1", 16},       // class B
		{classfulNetmask(), "192.168.1.27", 24},      // class C
		{classfulNetmask(), "223.1.1.1", 24},         // class C
		{classfulNetmask(), "224.0.0.1", 24},         // class D: treated as C
		{classfulNetmask(), "250.0.0.1", 24},         // class E: treated as C
		{classfulNetmask(), "::ffff:10.4.3.2", 8},    // unmapped first
		{classfulNetmask(), "2001:db8::1", 24},       // not IPv4
		{classfulNetmask(), "", 24},                  // no address
		{prefixNetmask(0), "10.1.1.1", 0},            // everything local
		{prefixNetmask(32), "10.1.1.1", 32},          // only the same address
		{prefixNetmask(26), "::ffff:10.1.1.1", 26},   // mapped
		{prefixNetmask(26), "2001:db8::10", 26},      // not IPv4, no class
		{classfulNetmask(), "0.1.2.3", 8},            // class A by first octet
		{classfulNetmask(), "255.255.255.255", 24},   // class E
		{classfulNetmask(), "::ffff:172.16.0.1", 16}, // mapped class B
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.client != "" {
			a = netip.MustParseAddr(tt.client)
		}
		if got := tt.mask.Bits(a); got != tt.want {
			t.Errorf("%v.Bits(%s) = %d, want %d", tt.mask, tt.client, got, tt.want)
		}
	}
}

func TestNetmaskContains(t *testing.T) {
	tests := []struct {
		mask        string
		client, rec string
		want        bool
	}{
		{"/24", "10.2.1.77", "10.2.1.10", true},
		{"/24", "10.2.1.77", "10.2.2.10", false},
		{"0x0000FFFF", "10.2.99.1", "10.2.1.10", true},
		{"0x0000FFFF", "10.2.99.1", "10.3.1.10", false},
		{"0x0000003F", "10.0.0.70", "10.0.0.127", true},
		{"0x0000003F", "10.0.0.70", "10.0.0.128", false},
		{"0xFFFFFFFF", "10.4.3.2", "10.0.0.14", true},
		{"0xFFFFFFFF", "10.4.3.2", "172.16.20.4", false},
		{"0xFFFFFFFF", "172.16.99.1", "172.16.20.4", true},
		{"/24", "::ffff:10.2.1.77", "10.2.1.10", true},
		{"/24", "10.2.1.77", "::ffff:10.2.1.10", true},
		{"/0", "2001:db8::1", "2001:db8::2", false}, // IPv4 only
		{"/0", "10.2.1.77", "2001:db8::2", false},
		{"/0", "10.2.1.77", "192.0.2.1", true},
	}
	for _, tt := range tests {
		m, err := ParseNetmask(tt.mask)
		if err != nil {
			t.Fatal(err)
		}
		got := m.Contains(netip.MustParseAddr(tt.client), netip.MustParseAddr(tt.rec))
		if got != tt.want {
			t.Errorf("%s: Contains(%s, %s) = %v, want %v", tt.mask, tt.client, tt.rec, got, tt.want)
		}
	}
}

func TestParseModeAndRemoteOrder(t *testing.T) {
	for _, m := range []Mode{Windows2003, Windows2000, None} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	for _, s := range []string{"", "Windows2003", "win2003", "2003"} {
		if _, err := ParseMode(s); err == nil || !strings.Contains(err.Error(), `"`+s+`"`) {
			t.Errorf("ParseMode(%q) error = %v, want one naming the value", s, err)
		}
	}
	if got := Mode(9).String(); got != "Mode(9)" {
		t.Errorf("Mode(9).String() = %q", got)
	}
	for _, o := range []RemoteOrder{RemoteRotate, RemoteFixed} {
		got, err := ParseRemoteOrder(o.String())
		if err != nil || got != o {
			t.Errorf("ParseRemoteOrder(%q) = %v, %v; want %v", o.String(), got, err, o)
		}
	}
	for _, s := range []string{"", "Rotate", "random"} {
		if _, err := ParseRemoteOrder(s); err == nil || !strings.Contains(err.Error(), `"`+s+`"`) {
			t.Errorf("ParseRemoteOrder(%q) error = %v, want one naming the value", s, err)
		}
	}
}
