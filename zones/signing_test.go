package zones

import (
	"bytes"
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sitedns/sitedns/dnssec"
)

const signedDir = "../testdata/dnssec"

// loadSigned compiles the signed test lab with edit applied to its text.
func loadSigned(t testing.TB, edit func(string) string) *Snapshot {
	t.Helper()
	text, err := os.ReadFile(signedDir + "/contoso-signed.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	if edit != nil {
		s = edit(s)
	}
	snap, err := Parse("contoso-signed.toml", signedDir, []byte(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// views lists the scopes of snap as views: -1 (the default) and each scope.
func views(snap *Snapshot) []int {
	v := []int{-1}
	for j := range snap.ScopeNames {
		v = append(v, j)
	}
	return v
}

// verify checks that sig verifies rrs with one of keys, now.
func verify(t *testing.T, keys []*dnssec.Key, sigs *Answer, rrs []dns.RR) {
	t.Helper()
	if sigs == nil || len(sigs.RRs) == 0 {
		t.Errorf("%s %s: no signatures", rrs[0].Header().Name, dns.TypeToString[rrs[0].Header().Rrtype])
		return
	}
	for _, s := range sigs.RRs {
		sig := s.(*dns.RRSIG)
		var key *dnssec.Key
		for _, k := range keys {
			if k.Tag() == sig.KeyTag {
				key = k
			}
		}
		if key == nil {
			t.Errorf("%s: no key with tag %d", sig, sig.KeyTag)
			continue
		}
		if err := sig.Verify(key.DNSKEY, rrs); err != nil {
			t.Errorf("%s: %v", sig, err)
		}
		if !sig.ValidityPeriod(time.Now()) {
			t.Errorf("%s: not valid now", sig)
		}
	}
}

// TestSignedViews verifies every signature of every view of the signed lab,
// with both denial methods and both key layouts, and walks each view's
// denial chain.
func TestSignedViews(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(string) string
	}{
		{"nsec3-csk13", nil},
		{"nsec-csk13", func(s string) string { return strings.Replace(s, `denial = "nsec3"`, `denial = "nsec"`, 1) }},
		{"nsec3-ksk-zsk15", func(s string) string {
			return strings.Replace(s, `keys = ["Kcontoso.lab.+013+53756"]`, `keys = ["Kcontoso.lab.+015+62941", "Kcontoso.lab.+015+27823"]`, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := loadSigned(t, tc.edit)
			z := snap.Zones[0]
			s := z.DNSSEC
			if s == nil {
				t.Fatal("zone not signed")
			}
			apex := z.Nodes[z.Origin]
			for _, typ := range []uint16{dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY} {
				if apex.Set(typ) == nil {
					t.Errorf("no %s at the apex", dns.TypeToString[typ])
				}
			}
			if (apex.Set(dns.TypeNSEC3PARAM) != nil) != s.NSEC3 {
				t.Errorf("NSEC3PARAM at the apex: %v, want %v", apex.Set(dns.TypeNSEC3PARAM) != nil, s.NSEC3)
			}
			signed := 0
			for _, j := range views(snap) {
				for _, n := range s.chain {
					for _, set := range n.Sets {
						a := set.For(j)
						if a == nil || len(a.RRs) == 0 {
							continue
						}
						if n.Cut && set.Type == dns.TypeNS {
							if a.Sig != nil {
								t.Errorf("%s: a delegation's NS is signed", n.Name)
							}
							continue
						}
						verify(t, s.Keys, a.Sig, a.RRs)
						signed++
					}
					d := n.Denial.For(j)
					verify(t, s.Keys, d.Sig, d.RRs)
				}
				checkChain(t, z, j)
			}
			if glue := z.Nodes["ns.lab2.contoso.lab."]; glue.Denial != nil || glue.Sets[0].Default.Sig != nil {
				t.Error("glue below a delegation is signed or in the chain")
			}
			if signed < 30 {
				t.Errorf("%d signed sets, want every one", signed)
			}
			if !s.ResignAt.Equal(s.Expiration.Add(-4 * 24 * time.Hour)) {
				t.Errorf("re-sign at %v, want 4 days before %v", s.ResignAt, s.Expiration)
			}
		})
	}
}

// checkChain walks view j's chain: each record's next is the following
// name the view has, the last wraps to the first, and the type bitmap is
// what the view answers.
func checkChain(t *testing.T, z *Zone, j int) {
	t.Helper()
	s := z.DNSSEC
	var chain []*Node
	for _, n := range s.chain {
		if !n.hiddenIn(z, j) {
			chain = append(chain, n)
		}
	}
	for i, n := range chain {
		rr := n.Denial.For(j).RRs[0]
		next := chain[(i+1)%len(chain)]
		var types []uint16
		switch r := rr.(type) {
		case *dns.NSEC3:
			h, _ := dnssec.Hash(next.Name)
			if r.NextDomain != dnssec.HashLabel(h) || !r.Match(n.Name) {
				t.Errorf("view %d: %s for %s: next %s, want %s", j, r.Hdr.Name, n.Name, r.NextDomain, dnssec.HashLabel(h))
			}
			types = r.TypeBitMap
		case *dns.NSEC:
			if r.NextDomain != next.Name || r.Hdr.Name != n.Name {
				t.Errorf("view %d: NSEC %s next %s, want %s", j, r.Hdr.Name, r.NextDomain, next.Name)
			}
			types = r.TypeBitMap
		}
		for _, set := range n.Sets {
			a := set.For(j)
			has := a != nil && len(a.RRs) > 0
			if has != slices.Contains(types, set.Type) {
				t.Errorf("view %d: %s: type %s in bitmap %v, answered %v", j, n.Name, dns.TypeToString[set.Type], slices.Contains(types, set.Type), has)
			}
		}
	}
}

// TestScopeOnlyName: a name only the US scope answers is in the US view's
// chain with its A and TXT, and the other views prove it does not exist.
func TestScopeOnlyName(t *testing.T) {
	snap := loadSigned(t, nil)
	z := snap.Zones[0]
	n := z.Nodes["usonly.contoso.lab."]
	us := slices.Index(snap.ScopeNames, "US")
	de := slices.Index(snap.ScopeNames, "DE")
	if got := n.Denial.For(us).RRs[0].(*dns.NSEC3).TypeBitMap; !slices.Equal(got, []uint16{dns.TypeA, dns.TypeTXT, dns.TypeRRSIG}) {
		t.Errorf("US bitmap %v", got)
	}
	for _, j := range []int{-1, de} {
		if res := snap.LookupView(n.Name, dns.TypeA, j); res.Kind != KindNXDomain {
			t.Errorf("view %d: %v, want NXDOMAIN", j, res.Kind)
		}
		var p Proof
		z.NXDomain(&p, n.Name, j)
		some := func(f func(*dns.NSEC3) bool) bool {
			return slices.ContainsFunc(p.Sets[:p.N], func(a *Answer) bool { return f(a.RRs[0].(*dns.NSEC3)) })
		}
		if !some(func(r *dns.NSEC3) bool { return r.Match("contoso.lab.") }) || !some(func(r *dns.NSEC3) bool { return r.Cover(n.Name) }) ||
			!some(func(r *dns.NSEC3) bool { return r.Cover("*.contoso.lab.") }) {
			t.Errorf("view %d: NXDOMAIN proof %v", j, p.Sets[:p.N])
		}
	}
}

// TestProofs checks the denial proofs of each kind against miekg/dns's
// NSEC3 Cover and Match, per view.
func TestProofs(t *testing.T) {
	snap := loadSigned(t, nil)
	z := snap.Zones[0]
	for _, j := range views(snap) {
		var p Proof
		qname := "nope.x.contoso.lab."
		z.NXDomain(&p, qname, j)
		if p.N != 3 {
			t.Fatalf("view %d: NXDOMAIN proof of %d records", j, p.N)
		}
		ce, nc, wild := p.Sets[0].RRs[0].(*dns.NSEC3), p.Sets[1].RRs[0].(*dns.NSEC3), p.Sets[2].RRs[0].(*dns.NSEC3)
		if !ce.Match("contoso.lab.") || !nc.Cover("x.contoso.lab.") || !wild.Cover("*.contoso.lab.") {
			t.Errorf("view %d: NXDOMAIN proof %v", j, p.Sets[:p.N])
		}

		p = Proof{}
		res := snap.Lookup("a.b.wild.contoso.lab.", dns.TypeTXT)
		z.Wildcard(&p, "a.b.wild.contoso.lab.", res.Node, j)
		if p.N != 1 || !p.Sets[0].RRs[0].(*dns.NSEC3).Cover("b.wild.contoso.lab.") {
			t.Errorf("view %d: wildcard proof %v", j, p.Sets[:p.N])
		}

		p = Proof{}
		z.NoData(&p, "ent.contoso.lab.", z.Nodes["ent.contoso.lab."], false, j)
		if p.N != 1 || !p.Sets[0].RRs[0].(*dns.NSEC3).Match("ent.contoso.lab.") {
			t.Errorf("view %d: empty non-terminal proof %v", j, p.Sets[:p.N])
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		var p Proof
		z.NXDomain(&p, "nope.x.contoso.lab.", -1)
	}); n != 0 {
		t.Errorf("NXDomain allocates %v times", n)
	}
}

// TestProofsNSEC is TestProofs for an NSEC chain.
func TestProofsNSEC(t *testing.T) {
	snap := loadSigned(t, func(s string) string { return strings.Replace(s, `denial = "nsec3"`, `denial = "nsec"`, 1) })
	z := snap.Zones[0]
	covers := func(rr dns.RR, name string) bool {
		n := rr.(*dns.NSEC)
		key := func(s string) []byte { k, _ := dnssec.CanonicalKey(nil, s); return k }
		lo, hi, k := key(n.Hdr.Name), key(n.NextDomain), key(name)
		if bytes.Compare(lo, hi) < 0 {
			return bytes.Compare(lo, k) < 0 && bytes.Compare(k, hi) < 0
		}
		return bytes.Compare(lo, k) < 0 || bytes.Compare(k, hi) < 0
	}
	var p Proof
	z.NXDomain(&p, "nope.x.contoso.lab.", -1)
	if p.N < 1 || !covers(p.Sets[0].RRs[0], "nope.x.contoso.lab.") || !covers(p.Sets[p.N-1].RRs[0], "*.contoso.lab.") {
		t.Errorf("NXDOMAIN proof %v", p.Sets[:p.N])
	}
	p = Proof{}
	res := snap.Lookup("a.wild.contoso.lab.", dns.TypeTXT)
	z.Wildcard(&p, "a.wild.contoso.lab.", res.Node, -1)
	if p.N != 1 || !covers(p.Sets[0].RRs[0], "a.wild.contoso.lab.") {
		t.Errorf("wildcard proof %v", p.Sets[:p.N])
	}
}

func TestSigningErrors(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, want string
	}{
		{"missing key", `"Kcontoso.lab.+013+53756"`, `"Knope"`, `zone "contoso.lab": dnssec: keys: "Knope": open `},
		{"rsa", `"Kcontoso.lab.+013+53756"`, `"Kcontoso.lab.+008+13296"`, `algorithm 8 (RSASHA256) not supported`},
		{"other zone", `"Kcontoso.lab.+013+53756"`, `"Kcontoso.lab.+013+53756", "Kfabrikam.lab.+013+07746"`, `the key is for fabrikam.lab., not contoso.lab.`},
		{"zsk only", `"Kcontoso.lab.+013+53756"`, `"Kcontoso.lab.+013+15344"`, `no key has the SEP flag`},
		{"denial", `denial = "nsec3"`, `denial = "nsec5"`, `:43: zone "contoso.lab": dnssec: denial: "nsec5": want nsec3 or nsec`},
		{"refresh", `refresh = "4d"`, `refresh = "15d"`, `refresh: "15d": must be shorter than signature_validity`},
		{"period", `signature_validity = "14d"`, `signature_validity = "forever"`, `:41: zone "contoso.lab": dnssec: signature_validity: "forever": want a positive period`},
		{"own rrsig", `"mail               300 IN A 10.1.1.10",`, `"mail               300 IN A 10.1.1.10", "@ 300 IN DNSKEY 256 3 13 UTDMA5FTUTVmiCMoq0V8KnKKDQ8nVDVCUzmWQ/1z0keICUqVyEP7EUuR DeeWYbegHz2sAknANQ5HdaU0mGjlDA==",`, `may not hold DNSKEY records`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, _ := os.ReadFile(signedDir + "/contoso-signed.toml")
			s := strings.Replace(string(text), tc.from, tc.to, 1)
			_, err := Parse("contoso-signed.toml", signedDir, []byte(s), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: %v\nwant an error with %q", err, tc.want)
			}
		})
	}
}

func BenchmarkSignLab(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		loadSigned(b, nil)
	}
}

// TestSignedSerial: a signed zone is served with the config's serial plus
// the seconds since 2026-01-01 at its signing, in the SOA of answers, of
// negative answers and of transfers, each signed as served; the parsed
// SOA is left as it was.
func TestSignedSerial(t *testing.T) {
	for _, tc := range []struct {
		serial uint32
		at     time.Time
		want   uint32
	}{
		{2026120101, serialEpoch, 2026120101},
		{2026120101, serialEpoch.Add(-time.Hour), 2026120101}, // a clock before the epoch adds nothing
		{2026120101, serialEpoch.Add(90*time.Second + 999*time.Millisecond), 2026120191},
		{1, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), 1 + 339*86400},
		{2026120101, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), 2055452901}, // docs/dnssec.md
		{^uint32(0) - 9, serialEpoch.Add(20 * time.Second), 10},                 // wraps, RFC 1982
	} {
		if got := SignedSerial(tc.serial, tc.at); got != tc.want {
			t.Errorf("SignedSerial(%d, %s) = %d, want %d", tc.serial, tc.at, got, tc.want)
		}
	}

	before := time.Now()
	snap := loadSigned(t, nil)
	after := time.Now()
	z := snap.Zones[0]
	for _, zz := range snap.Zones {
		if zz.Origin == "contoso.lab." {
			z = zz
		}
	}
	lo, hi := SignedSerial(2026120101, before), SignedSerial(2026120101, after)
	set := z.Nodes[z.Origin].Set(dns.TypeSOA).Default
	soa := set.RRs[0].(*dns.SOA)
	if soa != z.SOA || soa.Serial < lo || soa.Serial > hi {
		t.Fatalf("served SOA %v (zone's %v), want serial in [%d, %d]", soa, z.SOA, lo, hi)
	}
	if z.NegativeSOA.Serial != soa.Serial {
		t.Errorf("negative answers' SOA serial %d, want %d", z.NegativeSOA.Serial, soa.Serial)
	}
	// SOA RDATA without its names: serial, refresh, retry, expire, minimum.
	if w := set.Wire.RRs[0].Data; len(w) != 20 || binary.BigEndian.Uint32(w) != soa.Serial {
		t.Errorf("the SOA's precompiled RDATA %x, want serial %d first", w, soa.Serial)
	}
	verify(t, z.DNSSEC.Keys, set.Sig, set.RRs)
	verify(t, z.DNSSEC.Keys, z.DNSSEC.NegSOASig, []dns.RR{z.NegativeSOA})
}
