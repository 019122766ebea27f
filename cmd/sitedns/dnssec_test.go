package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const signedLab = "../../testdata/dnssec/contoso-signed.toml"

// TestDNSSECDS: "dnssec ds" prints the DS record BIND's dnssec-dsfromkey
// -2 gives for the lab's CSK; an unsigned config is an error.
func TestDNSSECDS(t *testing.T) {
	code, out, errs := runArgs(t, "dnssec", "ds", "-config", signedLab)
	want := "contoso.lab.\t3600\tIN\tDS\t53756 13 2 5E12333DB54B9CFD0698D7770827B81F45B81689D9A8109A2AD099185F2724C8\n"
	if code != 0 || out != want {
		t.Errorf("dnssec ds: exit %d, %q (stderr %q), want %q", code, out, errs, want)
	}
	if code, _, errs := runArgs(t, "dnssec", "ds", "-config", "../../testdata/config/good/contoso.toml"); code != 1 || !strings.Contains(errs, "no signed zone") {
		t.Errorf("unsigned config: exit %d, %q", code, errs)
	}
	if code, _, _ := runArgs(t, "dnssec"); code != 2 {
		t.Errorf("no subcommand: exit %d, want 2", code)
	}
}

// TestCheckKeys: check says how a zone is signed, and names the file, line
// and key of a key that cannot be used.
func TestCheckKeys(t *testing.T) {
	code, out, _ := runArgs(t, "check", "-config", signedLab)
	if code != 0 || !strings.Contains(out, "zone contoso.lab.: signed with contoso.lab./13/53756 (CSK); denial nsec3; signatures valid until ") {
		t.Errorf("check: exit %d, %q", code, out)
	}
	text, err := os.ReadFile(signedLab)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("../../testdata/dnssec")
	for _, tc := range []struct{ keys, want string }{
		{`"Kcontoso.lab.+013+53756", "` + abs + `/mismatch"`, `:40: zone "contoso.lab": dnssec: keys: "` + abs + `/mismatch": ` + abs + `/mismatch: the private key does not match the public key in the .key file`},
		{`"` + abs + `/Kcontoso.lab.+015+27823"`, `: zone "contoso.lab": dnssec: keys: no key has the SEP flag (257): give a KSK or a CSK for the parent's DS`},
	} {
		s := strings.Replace(string(text), `"Kcontoso.lab.+013+53756"`, tc.keys, 1)
		s = strings.ReplaceAll(s, `"Kcontoso.lab.`, `"`+abs+`/Kcontoso.lab.`)
		p := filepath.Join(t.TempDir(), "signed.toml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errs := runArgs(t, "check", "-config", p)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("check: exit %d, %q, want %q", code, errs, tc.want)
		}
	}
}
