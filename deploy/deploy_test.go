// Package deploy holds the tests of the deployment artifacts under deploy/
// (systemd unit, container image, Kubernetes manifests) and of the release
// configuration at the repository root. The tests check what the artifacts
// do, not only that they exist: the Kubernetes manifests are decoded strictly
// into the real API types, the unit goes through systemd-analyze verify, and
// make image's build step is run (e2e/image_test.go builds and runs the
// image itself).
//
// The copies of the demo config (the ConfigMap and the packaged sample
// config) are generated from testdata/config/good/contoso.toml:
//
//	go test ./deploy -update
package deploy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitedns/sitedns/zones"
)

var update = flag.Bool("update", false, "rewrite the generated copies of the demo config")

const (
	// root is the repository root, seen from this package's directory.
	root = ".."
	// demoConfig is the demo lab config every copy is made from.
	demoConfig = "../testdata/config/good/contoso.toml"
	// sampleConfig is the copy packaged as /etc/sitedns/sitedns.toml.
	sampleConfig = "systemd/sitedns.toml"
	// configMapFile holds the copy the Kubernetes pods read.
	configMapFile = "kubernetes/configmap.yaml"
)

// tmpRoot holds what the tests build; TestMain removes it.
var tmpRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "sitedns-deploy-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need returns the path of tool, skipping the test when it is missing, or
// failing it under CI=true.
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true: .ci/run must install it)", tool)
		}
		t.Skipf("%s is not installed", tool)
	}
	return p
}

// optional returns the path of tool, or skips the test when it is missing,
// even under CI: for extra checks with tools CI does not install.
func optional(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s is not installed; this extra check needs it", tool)
	}
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// sitedns returns a sitedns binary built once for the package with plain
// "go build".
func sitedns(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildBin = filepath.Join(tmpRoot, "plain", "sitedns")
		cmd := exec.Command("go", "build", "-o", buildBin, "./cmd/sitedns")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/sitedns: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

var (
	flagsOnce sync.Once
	flagsSet  map[string]bool
	flagsErr  error
)

var usageFlag = regexp.MustCompile(`(?m)^\s+-([A-Za-z0-9][A-Za-z0-9-]*)`)

// serveFlags returns the flags "sitedns serve" accepts, read from its -h
// output.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := sitedns(t)
	flagsOnce.Do(func() {
		var out bytes.Buffer
		cmd := exec.Command(bin, "serve", "-h")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			flagsErr = fmt.Errorf("sitedns serve -h: %v\n%s", err, out.String())
			return
		}
		flagsSet = map[string]bool{}
		for _, m := range usageFlag.FindAllStringSubmatch(out.String(), -1) {
			flagsSet[m[1]] = true
		}
		if !flagsSet["config"] || !flagsSet["listen"] {
			flagsErr = fmt.Errorf("sitedns serve -h lists no -config or -listen:\n%s", out.String())
		}
	})
	if flagsErr != nil {
		t.Fatal(flagsErr)
	}
	return flagsSet
}

// serveArgs is a parsed "sitedns serve" command line.
type serveArgs struct {
	values map[string][]string // flag name → values, in order; "" for booleans
}

// boolFlags are the serve flags that take no value.
var boolFlags = map[string]bool{"watch": true}

// parseServeArgs parses args (after "serve") the way the flag package would,
// for the flags used in the deployment files. Unknown shapes fail the test.
func parseServeArgs(t *testing.T, where string, args []string) serveArgs {
	t.Helper()
	sa := serveArgs{values: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Fatalf("%s: unexpected argument %q in %q", where, a, args)
		}
		name := strings.TrimLeft(a, "-")
		if k, v, ok := strings.Cut(name, "="); ok {
			sa.values[k] = append(sa.values[k], v)
			continue
		}
		if boolFlags[name] {
			sa.values[name] = append(sa.values[name], "")
			continue
		}
		if i+1 >= len(args) {
			t.Fatalf("%s: flag -%s has no value", where, name)
		}
		sa.values[name] = append(sa.values[name], args[i+1])
		i++
	}
	return sa
}

func (sa serveArgs) has(name string) bool { _, ok := sa.values[name]; return ok }

func (sa serveArgs) last(name string) string {
	v := sa.values[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// checkServeFlags fails when args use a flag "sitedns serve" does not have.
func checkServeFlags(t *testing.T, where string, sa serveArgs) {
	t.Helper()
	known := serveFlags(t)
	for name := range sa.values {
		if !known[name] {
			t.Errorf("%s: sitedns serve has no flag -%s", where, name)
		}
	}
}

// duration parses a flag's duration value, or returns def when it is unset.
func (sa serveArgs) duration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := sa.last(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("-%s %q: %v", name, v, err)
	}
	return d
}

// TestCopiesOfDemoConfig keeps the packaged sample config and the ConfigMap
// identical to the demo config; -update regenerates them.
func TestCopiesOfDemoConfig(t *testing.T) {
	want, err := os.ReadFile(demoConfig)
	if err != nil {
		t.Fatalf("the demo config the deployment files copy: %v", err)
	}
	if *update {
		if err := os.WriteFile(sampleConfig, want, 0o644); err != nil {
			t.Fatal(err)
		}
		cm, err := renderConfigMap(want)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(configMapFile, cm, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := readFile(t, sampleConfig); !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s; run: go test ./deploy -update", sampleConfig, demoConfig)
	}
	cm := loadConfigMap(t)
	if got := cm.Data[configKey]; got != string(want) {
		t.Errorf("%s: data[%q] differs from %s; run: go test ./deploy -update", configMapFile, configKey, demoConfig)
	}
}

// TestConfigCopiesLoad runs the real config loader on each copy of the demo
// config that a deployment ships.
func TestConfigCopiesLoad(t *testing.T) {
	cm := loadConfigMap(t)
	copies := map[string][]byte{
		configMapFile + " data[" + configKey + "]": []byte(cm.Data[configKey]),
		sampleConfig: readFile(t, sampleConfig),
	}
	for name, b := range copies {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sitedns.toml")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("zones.Load panicked: %v", r)
				}
			}()
			snap, err := zones.Load(path, zones.NewCounters())
			if err != nil {
				t.Fatalf("zones.Load: %v", err)
			}
			if len(snap.Zones) == 0 {
				t.Errorf("zones.Load: no zone in the config")
			}
		})
	}
}

// TestDocsPaths checks that every deploy/ path the deployment guide names
// exists.
func TestDocsPaths(t *testing.T) {
	doc := string(readFile(t, "../docs/deploying.md"))
	re := regexp.MustCompile(`deploy/[A-Za-z0-9_./-]*[A-Za-z0-9_]`)
	seen := map[string]bool{}
	for _, p := range re.FindAllString(doc, -1) {
		if seen[p] {
			continue
		}
		seen[p] = true
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("docs/deploying.md names %s: %v", p, err)
		}
	}
	for _, want := range []string{"deploy/systemd/sitedns.service", "deploy/docker/Containerfile", "deploy/kubernetes"} {
		if !seen[want] {
			t.Errorf("docs/deploying.md does not mention %s", want)
		}
	}
	if !slices.Contains(strings.Fields(doc), "-k") {
		t.Errorf("docs/deploying.md does not show kubectl apply -k")
	}
}
