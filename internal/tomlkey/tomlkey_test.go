package tomlkey

import (
	"reflect"
	"testing"
)

type config struct {
	Server struct {
		Listen []string `toml:"listen"`
	} `toml:"server"`
	Zone []struct {
		Origin  string   `toml:"origin"`
		Records []string `toml:"records"`
		Name    []struct {
			Name string `toml:"name"`
		} `toml:"name"`
	} `toml:"zone"`
}

func TestSuggest(t *testing.T) {
	root := reflect.TypeOf(config{})
	for _, c := range []struct {
		key  []string
		want string
	}{
		{[]string{"server", "listne"}, "listen"},
		{[]string{"zone", "record"}, "records"},
		{[]string{"zone", "name", "nmae"}, "name"},
		{[]string{"zone", "orgin"}, "origin"},
		{[]string{"zone", "weights"}, ""},       // nothing near
		{[]string{"server", "xy"}, ""},          // too short to guess
		{[]string{"nosuch", "listen"}, ""},      // no such table
		{[]string{"server", "listen", "x"}, ""}, // not a table
	} {
		if got := Suggest(root, c.key); got != c.want {
			t.Errorf("Suggest(%v) = %q, want %q", c.key, got, c.want)
		}
	}
}
