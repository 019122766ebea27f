package deploy

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestPrometheusRules checks deploy/prometheus/sitedns-rules.yml with
// promtool and runs its unit tests (sitedns-rules_test.yml), which make each
// alert fire where it should and stay quiet where it should not. promtool
// comes with Debian's prometheus package; without it the test skips, except
// under CI=true, where it fails.
func TestPrometheusRules(t *testing.T) {
	tool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found (Debian package prometheus)")
		}
		t.Skip("promtool not found (Debian package prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "sitedns-rules.yml"},
		{"test", "rules", "sitedns-rules_test.yml"},
	} {
		cmd := exec.Command(tool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert of the rules file has a unit test.
	rules, err := os.ReadFile("prometheus/sitedns-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("prometheus/sitedns-rules_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(rules), "\n") {
		name, ok := strings.CutPrefix(strings.TrimSpace(line), "- alert: ")
		if !ok {
			continue
		}
		n++
		if !strings.Contains(string(tests), "alertname: "+name+"\n") {
			t.Errorf("alert %s has no test in sitedns-rules_test.yml", name)
		}
	}
	if n == 0 {
		t.Error("no alerts in sitedns-rules.yml")
	}
}
