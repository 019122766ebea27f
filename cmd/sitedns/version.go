package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and revision are set at link time
// (-ldflags "-X main.version=v1.2.3 -X main.revision=abc123"); when they are
// not, buildInfo falls back to what the Go toolchain recorded in the binary.
var (
	version  = ""
	revision = ""
)

// buildInfo returns the version, the VCS revision and the Go version.
func buildInfo() (ver, rev, goVersion string) {
	ver, rev = version, revision
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && rev == "" {
				rev = s.Value
			}
		}
	}
	if ver == "" {
		ver = "devel"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev, runtime.Version()
}

func versionString() string {
	v, r, g := buildInfo()
	return fmt.Sprintf("sitedns %s (revision %s, %s)", v, r, g)
}
