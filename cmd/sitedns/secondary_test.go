package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSecondary: check says where each secondary zone comes from and
// what it starts with: its stored copy, or SERVFAIL until a transfer.
func TestCheckSecondary(t *testing.T) {
	code, out, errs := runArgs(t, "check", "-config", "../../testdata/config/good/secondary.toml")
	want := "zone contoso.lab.: secondary of 127.0.0.1:5399 with key xfr-key.; stored copy serial 42, 10 record(s)"
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, want)
	}

	p := filepath.Join(t.TempDir(), "secondary.toml")
	text := "[[zone]]\norigin = \"contoso.lab\"\nprimaries = [\"192.0.2.53\"]\nstore = \"contoso.lab.zone\"\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runArgs(t, "check", "-config", p)
	want = "zone contoso.lab.: secondary of 192.0.2.53:53; no stored copy: answers SERVFAIL until the first transfer"
	if code != 0 || !strings.Contains(out, want) || strings.Contains(out, "has no SOA") {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, want)
	}
}
