package zones

import (
	"bufio"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
)

// SourceFile is one file a snapshot was compiled from, and the SHA-256 of
// its content as the compiler read it. A watcher compares these with the
// files on disk to know when to reload.
type SourceFile struct {
	Path string
	Sum  [sha256.Size]byte
}

// maxIncludeDepth bounds the $INCLUDE chain followed for SourceFiles, as a
// loop of files including each other would otherwise never end.
const maxIncludeDepth = 8

// noteFile records a zone file the config names, then the files its
// $INCLUDE lines name, relative to the including file's directory as
// miekg/dns's ZoneParser resolves them. Those are read here a second time
// only to be listed: the parser reads them for the records, and a file it
// cannot read is its error to report, not this one's.
func (c *compiler) noteFile(path, text string, depth int) {
	c.files = append(c.files, SourceFile{Path: path, Sum: sha256.Sum256([]byte(text))})
	if depth >= maxIncludeDepth || !strings.Contains(text, "$INCLUDE") {
		return
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.EqualFold(f[0], "$INCLUDE") {
			continue
		}
		inc := strings.Trim(f[1], `"`)
		if !filepath.IsAbs(inc) {
			inc = filepath.Join(filepath.Dir(path), inc)
		}
		b, err := os.ReadFile(inc)
		if err != nil {
			continue
		}
		c.noteFile(inc, string(b), depth+1)
	}
}
