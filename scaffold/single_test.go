package scaffold

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// singleLab is the three-country lab with one SAN certificate.
const singleLab = "contoso-3country-single"

// TestSingleCertificateSeedNames checks the field notes' name tables item
// by item: every name they list is on the single certificate of their lab,
// in the lab's domain, and the one they make the subject is the subject.
func TestSingleCertificateSeedNames(t *testing.T) {
	var seeds struct {
		Name []struct {
			Note    string `toml:"note"`
			Name    string `toml:"name"`
			Usage   string `toml:"usage"`
			LabName string `toml:"lab_name"`
			Subject bool   `toml:"subject"`
		} `toml:"name"`
	}
	md, err := toml.DecodeFile(filepath.Join(testdataDir, "seed-names.toml"), &seeds)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("seed-names.toml: unknown keys %v", u)
	}
	perNote := map[string]int{}
	for _, s := range seeds.Name {
		perNote[s.Note]++
	}
	if perNote["san-table"] != 9 || perNote["single-cert"] != 5 {
		t.Fatalf("seed-names.toml: %v names per note, want the 9 of the SAN table and the 5 of the single-certificate note", perNote)
	}
	l := loadLab(t, singleLab)
	cert := NewPlan(l).Certificates[0]
	if cert.Name != "Single SAN certificate (UCC)" {
		t.Fatalf("first certificate %q, want the single one", cert.Name)
	}
	for _, s := range seeds.Name {
		want := s.LabName
		if want == "" {
			want = strings.ToLower(strings.Replace(s.Name, "domain.com", l.DefaultSIP(), 1))
		}
		if !slices.Contains(cert.SANs, want) {
			t.Errorf("%s: %s (%s) is %s in the lab: not among the single certificate's SANs %v", s.Note, s.Name, s.Usage, want, cert.SANs)
		}
		if s.Subject && cert.Subject != want {
			t.Errorf("%s: %s is the subject; the certificate's subject is %s", s.Note, want, cert.Subject)
		}
	}
}

// TestSingleCertificatePlan pins the consequences of one certificate that
// the notes spell out, whatever the golden files' wording.
func TestSingleCertificatePlan(t *testing.T) {
	for _, c := range []struct {
		lab  string
		opts Options
	}{{singleLab, Options{}}, {"onesite", Options{Certificates: "single"}}} {
		t.Run(c.lab, func(t *testing.T) {
			l, err := LoadAnswersWith(filepath.Join(testdataDir, c.lab+".answers.toml"), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			e := l.Edge
			if e.WebConf.Addr != e.Access.Addr || e.WebConfPort != 444 {
				t.Errorf("web conferencing on %s:%d, want the Access Edge's %s on 444", e.WebConf.Addr, e.WebConfPort, e.Access.Addr)
			}
			p := NewPlan(l)
			single := p.Certificates[0]
			if single.Subject != "sip."+l.DefaultSIP() || single.SANs[0] != single.Subject || single.Issuer != "public CA" {
				t.Errorf("single certificate subject %s, SANs %v, issuer %s; want sip.%s, repeated first, from a public CA",
					single.Subject, single.SANs, single.Issuer, l.DefaultSIP())
			}
			notes := strings.Join(single.Notes, "\n")
			for _, want := range []string{"ISA 2006 SP1 or TMG", "share the name sip." + l.DefaultSIP(), "moves to 444", "subject name is sip."} {
				if !strings.Contains(notes, want) {
					t.Errorf("single certificate notes lack %q:\n%s", want, notes)
				}
			}
			var names []string
			for _, c := range p.Certificates[1:] {
				names = append(names, c.Name)
				if c.Issuer == "public CA" {
					t.Errorf("a second public certificate: %s", c.Name)
				}
			}
			for _, want := range []string{"Edge internal", "A/V authentication", "Front End / pool"} {
				if !slices.Contains(names, want) {
					t.Errorf("certificates %v lack %s, which stays separate", names, want)
				}
			}
			webconf := false
			for _, r := range p.Ports {
				if strings.HasPrefix(r.To, "Web Conferencing Edge "+e.Access.Addr.String()) {
					webconf = r.Port == "444"
				}
			}
			if !webconf {
				t.Errorf("ports: no rule for web conferencing on %s:444", e.Access.Addr)
			}
		})
	}
}

// TestSingleCertificateWebConfAddress: one certificate and a web
// conferencing address of its own contradict each other; the error names
// the field, its line and what to do, from the file and from the flag.
func TestSingleCertificateWebConfAddress(t *testing.T) {
	_, err := LoadAnswersWith(filepath.Join(testdataDir, "contoso-3country.answers.toml"), Options{Certificates: "single"})
	var list Errors
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("error %v, want one", err)
	}
	want := `contoso-3country.answers.toml:28: edge.webconf: "203.0.113.6": -certificates single: the Web Conferencing Edge takes the Access Edge's name and address`
	if !strings.HasPrefix(list[0].Error(), want) {
		t.Errorf("error\n  %s\nwant it to start\n  %s", list[0], want)
	}
	_, err = ParseAnswers("x.toml", []byte("certificates = \"one\"\nsip_domains = [\"a.lab\"]\n[pool]\nfqdn = \"p.a.lab\"\naddress = \"10.0.0.1\"\n[[site]]\nname = \"S\"\nsubnets = [\"10.0.0.0/8\"]\n"))
	if err == nil || !strings.Contains(err.Error(), `x.toml:1: certificates: "one": want "per-role"`) {
		t.Errorf("certificates = \"one\": error %v", err)
	}
}

// runbookLabs are the runbook golden cases: each lab in its own mode, and
// the one-site lab with one certificate too.
var runbookLabs = []struct {
	lab, golden string
	opts        Options
}{
	{"contoso-3country", "contoso-3country.runbook.golden.md", Options{}},
	{singleLab, singleLab + ".runbook.golden.md", Options{}},
	{"onesite", "onesite.runbook.golden.md", Options{}},
	{"onesite", "onesite-single.runbook.golden.md", Options{Certificates: "single"}},
	{"loopback", "loopback.runbook.golden.md", Options{}},
}

// TestRunbookGolden: the runbooks match their golden files, and the
// one-site lab's single-certificate plan too.
func TestRunbookGolden(t *testing.T) {
	for _, c := range runbookLabs {
		t.Run(c.golden, func(t *testing.T) {
			l, err := LoadAnswersWith(filepath.Join(testdataDir, c.lab+".answers.toml"), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := WriteRunbook(&b, l); err != nil {
				t.Fatal(err)
			}
			golden(t, c.golden, b.Bytes())
			if c.opts.Certificates != "" {
				var md, csv bytes.Buffer
				_ = NewPlan(l).WriteMarkdown(&md)
				_ = NewPlan(l).WriteCSV(&csv)
				base := strings.TrimSuffix(c.golden, ".runbook.golden.md")
				golden(t, base+".plan.golden.md", md.Bytes())
				golden(t, base+".plan.golden.csv", csv.Bytes())
			}
		})
	}
}

var setCASRE = regexp.MustCompile(`(?m)^Set-ClientAccessServer -Identity "([^"]+)" -AutodiscoverServiceInternalUri "https://([^/"]+)/Autodiscover/Autodiscover.xml" -AutodiscoverSiteScope (.+)$`)

// TestRunbookSiteScopes: every CAS gets one Set-ClientAccessServer line,
// whose -AutodiscoverSiteScope is exactly the sites that share its site's
// scope in the generated sitedns config, and whose Autodiscover host the
// config answers, for that scope, with the CAS among the records.
func TestRunbookSiteScopes(t *testing.T) {
	for _, c := range runbookLabs {
		t.Run(c.golden, func(t *testing.T) {
			l, err := LoadAnswersWith(filepath.Join(testdataDir, c.lab+".answers.toml"), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			cfg := decodeConfig(t, Config(l))
			var b bytes.Buffer
			if err := WriteRunbook(&b, l); err != nil {
				t.Fatal(err)
			}
			lines := setCASRE.FindAllStringSubmatch(b.String(), -1)
			if len(lines) != len(l.CAS()) {
				t.Fatalf("%d Set-ClientAccessServer lines for %d CAS", len(lines), len(l.CAS()))
			}
			for _, m := range lines {
				name, host, scopeList := m[1], m[2], m[3]
				var addr string
				for _, cas := range l.CAS() {
					if cas.Name == name {
						addr = cas.Addr.String()
					}
				}
				if addr == "" {
					t.Fatalf("Set-ClientAccessServer -Identity %q: no such CAS", name)
				}
				scope := cfg.scopeOf(t, addr)
				var want []string
				for _, s := range cfg.Site {
					if s.Scope == scope {
						want = append(want, `"`+s.Name+`"`)
					}
				}
				if got := strings.Split(scopeList, ","); !slices.Equal(got, want) {
					t.Errorf("%s (scope %s in the config): -AutodiscoverSiteScope %v, want %v", name, scope, got, want)
				}
				if recs := cfg.answer(host, scope); !slices.Contains(recs, "A "+addr) {
					t.Errorf("%s: the config answers %s to scope %s with %v, not with the CAS %s", name, host, scope, recs, addr)
				}
			}
		})
	}
}

// decodedConfig is the part of a generated sitedns config the runbook
// tests read back.
type decodedConfig struct {
	Site []struct {
		Name    string   `toml:"name"`
		Subnets []string `toml:"subnets"`
		Scope   string   `toml:"scope"`
	} `toml:"site"`
	Zone []struct {
		Origin  string   `toml:"origin"`
		Records []string `toml:"records"`
		Name    []struct {
			Name    string                                `toml:"name"`
			Scope   map[string]struct{ Records []string } `toml:"scope"`
			Default *struct{ Records []string }           `toml:"default"`
		} `toml:"name"`
	} `toml:"zone"`
}

func decodeConfig(t *testing.T, b []byte) *decodedConfig {
	t.Helper()
	var c decodedConfig
	if _, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// scopeOf returns the scope of the site whose subnet holds addr, by
// longest prefix as sitedns matches.
func (c *decodedConfig) scopeOf(t *testing.T, addr string) string {
	t.Helper()
	ip := netip.MustParseAddr(addr)
	best, scope := -1, ""
	for _, s := range c.Site {
		for _, p := range s.Subnets {
			pfx := netip.MustParsePrefix(p)
			if pfx.Contains(ip) && pfx.Bits() > best {
				best, scope = pfx.Bits(), s.Scope
			}
		}
	}
	if best < 0 {
		t.Fatalf("%s is in no site of the config", addr)
	}
	return scope
}

// answer returns "TYPE data" of the records the config gives a client of
// scope for the FQDN host.
func (c *decodedConfig) answer(host, scope string) []string {
	var out []string
	for _, z := range c.Zone {
		rel, ok := strings.CutSuffix(host, "."+z.Origin)
		if !ok {
			continue
		}
		for _, n := range z.Name {
			if n.Name == rel {
				for _, r := range n.Scope[scope].Records {
					f := strings.Fields(r)
					out = append(out, strings.Join(f[2:], " "))
				}
			}
		}
	}
	return out
}

// TestWorkedExampleExcerpts: every line the worked example of
// docs/scaffold.md quotes from a runbook is in that lab's golden runbook,
// so the page cannot drift from what the scaffold writes.
func TestWorkedExampleExcerpts(t *testing.T) {
	doc, err := os.ReadFile("../docs/scaffold.md")
	if err != nil {
		t.Fatal(err)
	}
	_, example, ok := strings.Cut(string(doc), "## Worked example")
	if !ok {
		t.Fatal("docs/scaffold.md has no worked example")
	}
	var runbooks string
	for _, f := range []string{"contoso-3country.runbook.golden.md", singleLab + ".runbook.golden.md"} {
		b, err := os.ReadFile(filepath.Join(testdataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		runbooks += string(b)
	}
	quoted := 0
	for _, block := range regexp.MustCompile("(?s)```(?:powershell|sh skip)\n(.*?)```").FindAllStringSubmatch(example, -1) {
		for _, line := range strings.Split(strings.TrimSpace(block[1]), "\n") {
			quoted++
			if !strings.Contains(runbooks, line+"\n") {
				t.Errorf("docs/scaffold.md quotes a line no golden runbook has:\n%s", line)
			}
		}
	}
	if quoted < 5 {
		t.Errorf("the worked example quotes %d runbook lines", quoted)
	}
}
