package zones

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
)

// TestSnapshotFiles: a snapshot lists the config file, the zone files it
// names and the files they $INCLUDE (nested, relative to the including
// file), each with the digest of the content read.
func TestSnapshotFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"sitedns.toml":     "[[zone]]\norigin = \"x.lab\"\nfile = \"zones/x.lab.zone\"\n",
		"zones/x.lab.zone": "$ORIGIN x.lab.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ IN NS ns1\nns1 IN A 192.0.2.53\n$INCLUDE inc/a.inc\n",
		"zones/inc/a.inc":  "a IN A 192.0.2.1\n$INCLUDE b.inc\n",
		"zones/inc/b.inc":  "b IN A 192.0.2.2\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := Load(filepath.Join(dir, "sitedns.toml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sitedns.toml", "zones/x.lab.zone", "zones/inc/a.inc", "zones/inc/b.inc"}
	if len(snap.Files) != len(want) {
		t.Fatalf("files %+v, want %v", snap.Files, want)
	}
	for i, f := range snap.Files {
		if f.Path != filepath.Join(dir, want[i]) || f.Sum != sha256.Sum256([]byte(files[want[i]])) {
			t.Errorf("file %d: %s, want %s with its digest", i, f.Path, want[i])
		}
	}
}
