// Package tomlkey finds, for a TOML key a decoder left undecoded, the known
// key of the same table the user most likely meant, so that a config error
// can say "did you mean". zones (the config) and scaffold (the answers
// file) share it.
package tomlkey

import (
	"reflect"
	"strings"
)

// Suggest returns the known key of the table at path (the decoded key
// without its last part) nearest to the unknown last part, or "" when none
// is near: at most two edits, and at most half the key's length.
func Suggest(root reflect.Type, path []string) string {
	t := root
	for _, p := range path[:len(path)-1] {
		t = field(t, p)
		if t == nil {
			return ""
		}
	}
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	bad := path[len(path)-1]
	best, bestD := "", 3
	for i := range t.NumField() {
		name := strings.Split(t.Field(i).Tag.Get("toml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		if d := editDistance(strings.ToLower(bad), name); d < bestD && d*2 <= len(name) {
			best, bestD = name, d
		}
	}
	return best
}

// field is the type of the struct field tagged name in t (through
// slices, pointers and maps), or nil.
func field(t reflect.Type, name string) reflect.Type {
	for t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		if strings.Split(t.Field(i).Tag.Get("toml"), ",")[0] == name {
			return t.Field(i).Type
		}
	}
	return nil
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
