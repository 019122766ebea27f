package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLIPapercuts: the command line says what is wrong in the user's
// terms, the same way in serve, check and help.
func TestCLIPapercuts(t *testing.T) {
	good := "../../testdata/config/good/contoso.toml"
	for _, c := range []struct {
		name      string
		args      []string
		code      int
		out, errs string // substrings of stdout and stderr
	}{
		{"check FILE", []string{"check", good}, 0, "contoso.toml: ok:", ""},
		{"check -config FILE", []string{"check", "-config", good}, 0, "contoso.toml: ok:", ""},
		{"check two files", []string{"check", good, good}, 2, "", "give the config once"},
		{"check nothing", []string{"check"}, 2, "", "usage: sitedns check FILE"},
		{"bare port", []string{"serve", "-listen", "5306"}, 2, "", `-listen "5306": want HOST:PORT, e.g. 127.0.0.1:5306`},
		{"bare metrics port", []string{"serve", "-metrics-listen", "9153"}, 2, "", `-metrics-listen "9153": want HOST:PORT, e.g. 127.0.0.1:9153`},
		{"log level", []string{"serve", "-log-level", "loud"}, 2, "", `-log-level "loud": want debug, info, warn or error`},
		{"serve -h", []string{"serve", "-h"}, 0, "", "usage: sitedns serve [-config FILE]"},
		{"help serve", []string{"help", "serve"}, 0, "", "usage: sitedns serve [-config FILE]"},
		{"help check", []string{"help", "check"}, 0, "", "usage: sitedns check FILE"},
		{"help nothing", []string{"help", "nosuch"}, 2, "", `unknown command "nosuch"`},
		{"serve argument", []string{"serve", good}, 2, "", "the config is -config FILE"},
	} {
		code, out, errs := runArgs(t, c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errs, c.errs) {
			t.Errorf("%s: sitedns %s: exit %d\nstdout %q\nstderr %q\nwant exit %d, stdout with %q, stderr with %q",
				c.name, strings.Join(c.args, " "), code, out, errs, c.code, c.out, c.errs)
		}
	}
}

// TestServeJSONStartupErrors: with -log-format json, what stops serve
// before it serves is a JSON log line too: a bad flag, and a config with
// every problem in "errors".
func TestServeJSONStartupErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
		errs string
	}{
		{[]string{"serve", "-log-format", "json", "-listen", "5306"}, `-listen "5306": want HOST:PORT`, ""},
		{[]string{"serve", "-log-format=json", "-config", "../../testdata/config/invalid-host-bits.toml"}, "cannot load the config", `host bits set; did you mean "10.2.0.0/16"?`},
	} {
		code, _, errs := runArgs(t, c.args...)
		if code == 0 {
			t.Errorf("%v: exit 0", c.args)
		}
		var line struct {
			Level  string   `json:"level"`
			Msg    string   `json:"msg"`
			Errors []string `json:"errors"`
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(errs)), &line); err != nil {
			t.Errorf("%v: stderr is not one JSON line (%v):\n%s", c.args, err, errs)
			continue
		}
		if line.Level != "error" || !strings.Contains(line.Msg, c.msg) || !strings.Contains(strings.Join(line.Errors, "\n"), c.errs) {
			t.Errorf("%v: %+v, want an error with %q and %q", c.args, line, c.msg, c.errs)
		}
	}
}
