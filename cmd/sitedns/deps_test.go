package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoTemplatePackages: the binary links neither text/template nor
// html/template. Both look methods up by name through reflection, which
// makes the linker keep every exported method of every type: 2.5 MB of the
// binary and of the container image, whose goal is under 15 MB
// (docs/deploying.md).
func TestNoTemplatePackages(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "text/template" || p == "html/template" {
			t.Errorf("the sitedns binary imports %s", p)
		}
	}
}
