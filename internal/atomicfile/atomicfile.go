// Package atomicfile replaces files whole: a crash or a full disk leaves
// the old content or the new, never part of either.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces the file at path with text: a temporary file in the same
// directory (made if missing), synced, then renamed over path.
func Write(path, text string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.WriteString(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
