package grafana

import (
	"bytes"
	"os"
	"testing"
)

// TestGenerated: the committed dashboard is what the code generates, so an
// edit to either one alone fails here. After changing dashboard.go:
//
//	go generate ./deploy/grafana
func TestGenerated(t *testing.T) {
	want, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("sitedns-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("sitedns-dashboard.json is not what dashboard.go generates: run go generate ./deploy/grafana")
	}
	again, err := JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, want) {
		t.Error("two renderings differ: the output is not deterministic")
	}
}
