package zones

import (
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
