package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	unitFile   = "systemd/sitedns.service"
	unitBinary = "/usr/bin/sitedns"
	unitConfig = "/etc/sitedns/sitedns.toml"
)

// unitSetting is one Key=Value line of a unit file.
type unitSetting struct {
	line       int
	key, value string
}

// parseUnit reads a systemd unit file into its sections' settings, in
// order (a key may repeat).
func parseUnit(t *testing.T, src string) map[string][]unitSetting {
	t.Helper()
	sections := map[string][]unitSetting{}
	section := ""
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not a Key=Value line in a section: %q", unitFile, n, line)
		}
		sections[section] = append(sections[section], unitSetting{n, strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return sections
}

// values returns every value of key in settings.
func values(settings []unitSetting, key string) []string {
	var out []string
	for _, s := range settings {
		if s.key == key {
			out = append(out, s.value)
		}
	}
	return out
}

// execWords splits an Exec*= value into words, dropping systemd's prefix
// characters (-, @, +, !, :).
func execWords(t *testing.T, v string) []string {
	t.Helper()
	v = strings.TrimLeft(v, "-@+!:")
	cmds, err := shellSplit(v, map[string]string{"MAINPID": "$MAINPID"})
	if err != nil || len(cmds) != 1 {
		t.Fatalf("%s: cannot split %q: %v", unitFile, v, err)
	}
	return cmds[0]
}

func TestSystemdUnit(t *testing.T) {
	unit := parseUnit(t, string(readFile(t, unitFile)))
	svc := unit["Service"]

	t.Run("settings", func(t *testing.T) {
		for _, want := range []struct{ key, value string }{
			{"DynamicUser", "yes"},
			{"StateDirectory", "sitedns"}, // the store and journal_dir, writable under ProtectSystem=strict
			{"AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
			{"CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
			{"NoNewPrivileges", "yes"},
			{"ProtectSystem", "strict"},
			{"ProtectHome", "yes"},
			{"PrivateTmp", "yes"},
			{"PrivateDevices", "yes"},
			{"ProtectKernelTunables", "yes"},
			{"ProtectKernelModules", "yes"},
			{"ProtectControlGroups", "yes"},
			{"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
			{"RestrictNamespaces", "yes"},
			{"RestrictSUIDSGID", "yes"},
			{"MemoryDenyWriteExecute", "yes"},
			{"LockPersonality", "yes"},
			{"SystemCallArchitectures", "native"},
			{"SystemCallFilter", "@system-service"},
			{"Restart", "on-failure"},
		} {
			got := values(svc, want.key)
			found := false
			for _, g := range got {
				found = found || g == want.value
			}
			if !found {
				t.Errorf("[Service] %s=%s missing (have %q)", want.key, want.value, got)
			}
		}
		if got := values(unit["Install"], "WantedBy"); len(got) != 1 || got[0] != "multi-user.target" {
			t.Errorf("[Install] WantedBy=%q, want multi-user.target", got)
		}
		switch typ := values(svc, "Type"); {
		case slices.Equal(typ, []string{"simple"}), slices.Equal(typ, []string{"exec"}):
		case slices.Equal(typ, []string{"notify"}):
			if got := values(svc, "NotifyAccess"); !slices.Equal(got, []string{"main"}) {
				t.Errorf("Type=notify with NotifyAccess=%q, want main", got)
			}
		default:
			t.Errorf("Type=%q, want simple, exec, or notify (sitedns sends READY=1)", typ)
		}
		if got := values(svc, "User"); len(got) > 0 {
			t.Errorf("User=%q set: DynamicUser=yes picks a transient user", got)
		}
	})

	t.Run("ExecStart", func(t *testing.T) {
		starts := values(svc, "ExecStart")
		if len(starts) != 1 {
			t.Fatalf("%d ExecStart=, want 1", len(starts))
		}
		w := execWords(t, starts[0])
		if len(w) < 2 || w[0] != unitBinary || w[1] != "serve" {
			t.Fatalf("ExecStart=%s, want %s serve ...", starts[0], unitBinary)
		}
		sa := parseServeArgs(t, unitFile+" ExecStart", w[2:])
		checkServeFlags(t, unitFile+" ExecStart", sa)
		if got := sa.last("config"); got != unitConfig {
			t.Errorf("-config %q, want %s (the packaged config)", got, unitConfig)
		}
		if !sa.has("listen") {
			t.Error("no -listen: the server would bind its loopback default")
		}
		for _, l := range sa.values["listen"] {
			if portOf(t, l) != 53 || strings.HasPrefix(l, "127.") {
				t.Errorf("-listen %q, want port 53 on every address", l)
			}
		}
		stop := 90 * time.Second
		if v := values(svc, "TimeoutStopSec"); len(v) > 0 {
			d, err := time.ParseDuration(v[len(v)-1])
			if err != nil {
				t.Fatalf("TimeoutStopSec=%s: %v", v[len(v)-1], err)
			}
			stop = d
		}
		if need := sa.duration(t, "lameduck", 0) + sa.duration(t, "shutdown-timeout", 10*time.Second); stop <= need {
			t.Errorf("TimeoutStopSec %v <= lameduck + shutdown-timeout %v: systemd would kill a draining server", stop, need)
		}
	})

	t.Run("ExecReload", func(t *testing.T) {
		reloads := values(svc, "ExecReload")
		if len(reloads) == 0 || reloads[len(reloads)-1] != "/bin/kill -HUP $MAINPID" {
			t.Errorf("last ExecReload=%q, want /bin/kill -HUP $MAINPID", reloads)
		}
		for _, r := range reloads[:max(len(reloads)-1, 0)] {
			if w := execWords(t, r); len(w) < 2 || w[0] != unitBinary || w[1] != "check" {
				t.Errorf("ExecReload=%s before the SIGHUP: want a sitedns check", r)
			}
		}
	})
}

// TestSystemdChecksRun runs the unit's "sitedns check" commands
// (ExecStartPre=, ExecReload=) on the packaged sample config, as systemd
// would before starting or reloading.
func TestSystemdChecksRun(t *testing.T) {
	unit := parseUnit(t, string(readFile(t, unitFile)))
	bin := sitedns(t)
	sample, err := filepath.Abs(sampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var checks [][]string
	for _, key := range []string{"ExecStartPre", "ExecReload"} {
		for _, v := range values(unit["Service"], key) {
			if w := execWords(t, v); w[0] == unitBinary {
				checks = append(checks, w)
			}
		}
	}
	if len(checks) == 0 {
		t.Fatal("no sitedns command in ExecStartPre= or ExecReload=")
	}
	for _, w := range checks {
		args := append([]string(nil), w[1:]...)
		for i, a := range args {
			if a == unitConfig {
				args[i] = sample
			}
		}
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(w, " "), err, out)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify on the unit. verify
// rejects a unit whose ExecStart= binary does not exist, so it checks a copy
// that points at a sitedns built for the test, in a temporary directory.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze")
	unit := verifiableUnit(t)

	var out bytes.Buffer
	cmd := exec.Command(analyze, "verify", unit)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	// verify exits 0 on unknown keys and bad values, only warning about
	// them; any line about our unit is a failure. Lines about other units
	// on this machine (loaded as dependencies) are only logged.
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		if strings.Contains(line, "sitedns") {
			t.Errorf("systemd-analyze verify: %s", line)
		} else {
			t.Logf("systemd-analyze verify (other unit): %s", line)
		}
	}
	if err != nil {
		t.Errorf("systemd-analyze verify: %v", err)
	}
}

// TestSystemdAnalyzeSecurity keeps the unit's exposure score (systemd's own
// hardening assessment, 0 best, 10 worst) at or below 2.5.
func TestSystemdAnalyzeSecurity(t *testing.T) {
	analyze := need(t, "systemd-analyze")
	unit := verifiableUnit(t)
	var out bytes.Buffer
	cmd := exec.Command(analyze, "security", "--offline=yes", "--threshold=25", "--no-pager", unit)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, out.String())
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) > 0 {
		t.Log(lines[len(lines)-1])
	}
}

// verifiableUnit writes a copy of the unit whose sitedns commands name a
// built binary and returns its path.
func verifiableUnit(t *testing.T) string {
	t.Helper()
	bin := sitedns(t)
	dir := t.TempDir()
	unit := filepath.Join(dir, "sitedns.service")
	src := strings.ReplaceAll(string(readFile(t, unitFile)), unitBinary+" ", bin+" ")
	if err := os.WriteFile(unit, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return unit
}
