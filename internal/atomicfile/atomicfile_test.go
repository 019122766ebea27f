package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWrite: the file holds the new text, the directory is made when
// missing, and no temporary file is left; a path that cannot be written
// fails and leaves the old content.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "f.txt")
	for _, text := range []string{"one\n", "two\n"} {
		if err := Write(path, text); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != text {
			t.Fatalf("read %q, %v; want %q", b, err, text)
		}
	}
	if es, _ := os.ReadDir(filepath.Dir(path)); len(es) != 1 {
		t.Errorf("%d entries in the directory, want the file alone", len(es))
	}
	if err := Write(filepath.Join(path, "below-a-file"), "x"); err == nil {
		t.Error("a path below a file was written")
	}
	if b, _ := os.ReadFile(path); string(b) != "two\n" {
		t.Errorf("the old content became %q", b)
	}
}
