package zones

import (
	"reflect"
	"regexp"
	"strings"
)

// typeErr picks the two types out of a TOML decoder's type error.
var typeErr = regexp.MustCompile(`^incompatible types: TOML value has type (\S+); destination has type (\S+)$`)

// typeHint rewrites a TOML type error in the config's terms: what the key
// wants, with an example where one helps (netmask = 24 is the usual slip:
// the mask is a string so that its three forms can be told apart).
func typeHint(key, msg string) string {
	m := typeErr.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	got, want := tomlKind(m[1]), tomlKind(m[2])
	if strings.HasSuffix(key, "netmask") {
		return "a " + got + ": want a string: \"/24\", \"255.255.255.0\" or the registry form \"0x000000FF\""
	}
	return "a " + got + ": want " + article(want)
}

func tomlKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "string":
		return "string"
	case goType == "bool":
		return "boolean"
	case strings.HasPrefix(goType, "[]"), goType == "slice", goType == "array":
		return "list"
	case strings.HasPrefix(goType, "map"), goType == "struct", strings.Contains(goType, "."):
		return "table"
	}
	return goType
}

func article(kind string) string {
	switch kind {
	case "string":
		return "a string (in quotes)"
	case "list":
		return "a list ([...])"
	case "boolean":
		return "true or false"
	}
	return "a " + kind
}

// suggestKey returns the known key of the table at path (the decoded key
// without its last part) nearest to the unknown last part, or "" when none
// is near: at most two edits, and at most half the key's length.
func suggestKey(root reflect.Type, path []string) string {
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
