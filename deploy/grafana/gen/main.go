// Command gen writes the sitedns Grafana dashboard (package grafana) as
// JSON: go generate ./deploy/grafana runs it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sitedns/sitedns/deploy/grafana"
)

func main() {
	out := flag.String("o", "sitedns-dashboard.json", "the file to write")
	flag.Parse()
	b, err := grafana.JSON()
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
