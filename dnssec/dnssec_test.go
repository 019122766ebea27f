package dnssec

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const keyDir = "../testdata/dnssec/"

func mustKey(t testing.TB, name string) *Key {
	t.Helper()
	k, err := LoadKey(keyDir + name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLoadKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		alg  uint8
		sep  bool
		err  string
	}{
		{name: "Kcontoso.lab.+013+53756", alg: 13, sep: true},
		{name: "Kcontoso.lab.+013+15344.key", alg: 13},
		{name: "Kcontoso.lab.+015+62941.private", alg: 15, sep: true},
		{name: "Kcontoso.lab.+015+27823", alg: 15},
		{name: "Kcontoso.lab.+008+13296", err: "algorithm 8 (RSASHA256) not supported"},
		{name: "mismatch", err: "the private key does not match the public key"},
		{name: "nonexistent", err: "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadKey(keyDir + tc.name)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("LoadKey: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.DNSKEY.Algorithm != tc.alg || k.SEP() != tc.sep || k.DNSKEY.Hdr.Name != "contoso.lab." {
				t.Errorf("got %s, want algorithm %d sep %v", k, tc.alg, tc.sep)
			}
		})
	}
}

func TestCheckKeys(t *testing.T) {
	csk := mustKey(t, "Kcontoso.lab.+013+53756")
	zsk := mustKey(t, "Kcontoso.lab.+013+15344")
	other := mustKey(t, "Kfabrikam.lab.+013+07746")
	for _, tc := range []struct {
		name string
		keys []*Key
		errs []string
	}{
		{"csk", []*Key{csk}, nil},
		{"ksk and zsk", []*Key{csk, zsk}, nil},
		{"none", nil, []string{"no keys"}},
		{"zsk only", []*Key{zsk}, []string{"no key has the SEP flag"}},
		{"twice", []*Key{csk, csk}, []string{"key tag 53756 is also"}},
		{"other zone", []*Key{csk, other}, []string{"the key is for fabrikam.lab., not contoso.lab."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := CheckKeys("contoso.lab.", tc.keys)
			if len(errs) != len(tc.errs) {
				t.Fatalf("CheckKeys: %v, want %q", errs, tc.errs)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.errs[i]) {
					t.Errorf("error %d: %v, want %q", i, e, tc.errs[i])
				}
			}
		})
	}
}

func rr(t testing.TB, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSignVerifies signs RRsets with a CSK and with a KSK and a ZSK of
// both algorithms and verifies every signature with the key that made it.
func TestSignVerifies(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name  string
		keys  []string
		ksk   uint16 // the tag that signs DNSKEY
		other uint16 // the tag that signs the rest
	}{
		{"csk13", []string{"Kcontoso.lab.+013+53756"}, 53756, 53756},
		{"ksk+zsk15", []string{"Kcontoso.lab.+015+62941", "Kcontoso.lab.+015+27823"}, 62941, 27823},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keys []*Key
			var dnskeys []dns.RR
			for _, n := range tc.keys {
				k := mustKey(t, n)
				keys = append(keys, k)
				dnskeys = append(dnskeys, k.DNSKEY)
			}
			s := NewSigner(keys, now, 14*24*time.Hour)
			sets := [][]dns.RR{
				dnskeys,
				{rr(t, "autodiscover.contoso.lab. 300 IN A 10.1.1.10"), rr(t, "autodiscover.contoso.lab. 300 IN A 10.2.1.10")},
				{rr(t, "*.wild.contoso.lab. 60 IN TXT \"x\"")},
			}
			for _, set := range sets {
				sigs, err := s.Sign(set)
				if err != nil {
					t.Fatal(err)
				}
				if len(sigs) != 1 {
					t.Fatalf("%d signatures, want 1", len(sigs))
				}
				sig := sigs[0].(*dns.RRSIG)
				want := tc.other
				if set[0].Header().Rrtype == dns.TypeDNSKEY {
					want = tc.ksk
				}
				if sig.KeyTag != want {
					t.Errorf("%s signed by %d, want %d", dns.TypeToString[sig.TypeCovered], sig.KeyTag, want)
				}
				if sig.Hdr.Ttl != set[0].Header().Ttl || sig.OrigTtl != set[0].Header().Ttl {
					t.Errorf("TTL %d, original %d, want %d", sig.Hdr.Ttl, sig.OrigTtl, set[0].Header().Ttl)
				}
				var key *Key
				for _, k := range keys {
					if k.Tag() == sig.KeyTag {
						key = k
					}
				}
				if err := sig.Verify(key.DNSKEY, set); err != nil {
					t.Errorf("%s: %v", sig, err)
				}
				if !sig.ValidityPeriod(now) || sig.ValidityPeriod(now.Add(15*24*time.Hour)) {
					t.Errorf("validity %d-%d does not hold now and end in 14 days", sig.Inception, sig.Expiration)
				}
			}
		})
	}
}

func TestDS(t *testing.T) {
	k := mustKey(t, "Kcontoso.lab.+013+53756")
	ds := DS(k, 3600)
	if ds.KeyTag != 53756 || ds.DigestType != dns.SHA256 || ds.Algorithm != 13 || len(ds.Digest) != 64 {
		t.Errorf("DS %s", ds)
	}
}

func TestHash(t *testing.T) {
	for _, name := range []string{"contoso.lab.", "Autodiscover.Contoso.LAB.", "*.wild.contoso.lab.", "a\\.b.contoso.lab.", "."} {
		h, ok := Hash(name)
		if !ok {
			t.Fatalf("Hash(%q) failed", name)
		}
		if got, want := HashLabel(h), strings.ToLower(dns.HashName(name, dns.SHA1, 0, "")); got != want {
			t.Errorf("Hash(%q) = %s, want %s", name, got, want)
		}
	}
	// RFC 5155 appendix A hashes with a salt and 12 iterations; with none
	// the hash of "example." is what miekg/dns computes (above), and the
	// encoding is base32hex.
	if allocs := testing.AllocsPerRun(100, func() { Hash("autodiscover.contoso.lab.") }); allocs != 0 {
		t.Errorf("Hash allocates %v times", allocs)
	}
}

// TestCanonicalKey sorts the example of RFC 4034 §6.1.
func TestCanonicalKey(t *testing.T) {
	want := []string{"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example."}
	got := slices.Clone(want)
	slices.Reverse(got)
	key := func(s string) []byte {
		k, ok := CanonicalKey(nil, s)
		if !ok {
			t.Fatalf("CanonicalKey(%q) failed", s)
		}
		return k
	}
	slices.SortFunc(got, func(a, b string) int { return bytes.Compare(key(a), key(b)) })
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
	buf := make([]byte, 0, 256)
	if allocs := testing.AllocsPerRun(100, func() { CanonicalKey(buf[:0], "autodiscover.contoso.lab.") }); allocs != 0 {
		t.Errorf("CanonicalKey allocates %v times", allocs)
	}
}

func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Hash("autodiscover.contoso.lab.")
	}
}

// FuzzReadDNSKEY feeds .key file text to the parser: it never panics, and
// what it accepts is a supported zone key.
func FuzzReadDNSKEY(f *testing.F) {
	f.Add([]byte("contoso.lab. IN DNSKEY 257 3 13 kN4DQ8Tu1B8P+7u1CrSNIWwSj6FzqX1bYEL3s6NNtq0Zi8fDxXk+UdEHoNFk6pn6jqhKJ3Wve0WpRk1ZIZr8Kg==\n"))
	f.Add([]byte("; comment\ncontoso.lab. 3600 IN DNSKEY 256 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n"))
	f.Add([]byte("contoso.lab. IN A 10.0.0.1\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := readDNSKEY(text, "fuzz.key")
		if err != nil {
			return
		}
		if k.Flags&dns.ZONE == 0 || !Supported[k.Algorithm] || k.Protocol != 3 {
			t.Errorf("accepted %s", k)
		}
	})
}
