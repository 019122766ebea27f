package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const goreleaserFile = "../.goreleaser.yaml"

// goreleaserConfig is the part of a goreleaser v2 config these tests read.
// goreleaser has many more fields; they are ignored, not rejected.
type goreleaserConfig struct {
	Version int `json:"version"`
	Builds  []struct {
		ID      string   `json:"id"`
		Main    string   `json:"main"`
		Binary  string   `json:"binary"`
		Env     []string `json:"env"`
		Goos    []string `json:"goos"`
		Goarch  []string `json:"goarch"`
		Flags   []string `json:"flags"`
		Ldflags []string `json:"ldflags"`
	} `json:"builds"`
	Nfpms []struct {
		ID       string   `json:"id"`
		IDs      []string `json:"ids"`
		Formats  []string `json:"formats"`
		Bindir   string   `json:"bindir"`
		Contents []struct {
			Src  string `json:"src"`
			Dst  string `json:"dst"`
			Type string `json:"type"`
		} `json:"contents"`
		Scripts map[string]string `json:"scripts"`
	} `json:"nfpms"`
}

func TestGoreleaserConfig(t *testing.T) {
	var c goreleaserConfig
	if err := yaml.Unmarshal(readFile(t, goreleaserFile), &c); err != nil {
		t.Fatalf("%s: %v", goreleaserFile, err)
	}
	if c.Version != 2 {
		t.Errorf("version: %d, want 2", c.Version)
	}
	if len(c.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(c.Builds))
	}
	b := c.Builds[0]
	if b.Main != "./cmd/sitedns" || b.Binary != "sitedns" {
		t.Errorf("build main %q binary %q, want ./cmd/sitedns and sitedns", b.Main, b.Binary)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("build env %q lacks CGO_ENABLED=0", b.Env)
	}
	if !slices.Equal(b.Goos, []string{"linux"}) {
		t.Errorf("goos %q, want [linux]", b.Goos)
	}
	if arch := slices.Sorted(slices.Values(b.Goarch)); !slices.Equal(arch, []string{"amd64", "arm64"}) {
		t.Errorf("goarch %q, want amd64 and arm64", b.Goarch)
	}
	if !slices.Contains(b.Flags, "-trimpath") {
		t.Errorf("flags %q lack -trimpath", b.Flags)
	}
	ld := strings.Join(b.Ldflags, " ")
	for _, want := range []string{"-X main.version={{.Version}}", "-X main.revision={{.Commit}}"} {
		if !strings.Contains(ld, want) {
			t.Errorf("ldflags %q lack %q", ld, want)
		}
	}

	if len(c.Nfpms) != 1 {
		t.Fatalf("%d nfpms, want 1", len(c.Nfpms))
	}
	n := c.Nfpms[0]
	if f := slices.Sorted(slices.Values(n.Formats)); !slices.Equal(f, []string{"deb", "rpm"}) {
		t.Errorf("nfpm formats %q, want deb and rpm", n.Formats)
	}
	if len(n.IDs) > 0 && !slices.Contains(n.IDs, b.ID) {
		t.Errorf("nfpm ids %q leave out build %q", n.IDs, b.ID)
	}
	if got := n.Bindir + "/" + b.Binary; got != unitBinary {
		t.Errorf("packaged binary at %s, but the unit runs %s", got, unitBinary)
	}
	want := map[string]struct{ src, typ string }{
		"/lib/systemd/system/sitedns.service": {"deploy/systemd/sitedns.service", ""},
		unitConfig:                            {"deploy/systemd/sitedns.toml", "config|noreplace"},
	}
	for _, ct := range n.Contents {
		w, ok := want[ct.Dst]
		if !ok {
			continue
		}
		delete(want, ct.Dst)
		if ct.Src != w.src || ct.Type != w.typ {
			t.Errorf("nfpm contents %s: src %q type %q, want src %q type %q", ct.Dst, ct.Src, ct.Type, w.src, w.typ)
		}
	}
	for dst := range want {
		t.Errorf("nfpm contents lack %s", dst)
	}
	for _, ct := range n.Contents {
		if ct.Src != "" {
			if _, err := os.Stat(filepath.Join(root, ct.Src)); err != nil {
				t.Errorf("nfpm contents: %v", err)
			}
		}
	}
	for when, script := range n.Scripts {
		p := filepath.Join(root, script)
		if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("nfpm %s script %s: %v\n%s", when, script, err, out)
		}
	}
}

// TestGoreleaserCheck runs "goreleaser check" when goreleaser is installed
// (CI does not install it).
func TestGoreleaserCheck(t *testing.T) {
	gr := optional(t, "goreleaser")
	cmd := exec.Command(gr, "check", "-f", ".goreleaser.yaml")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("goreleaser check: %v\n%s", err, out)
	}
}
