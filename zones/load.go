package zones

// Error is one problem found in a config: where, which field, which value,
// and what is wrong. Its Error() reads
// "contoso.toml:12: site \"US-Chicago\": subnets: \"10.2.0.0/33\": bad prefix length".
type Error struct {
	File  string
	Line  int // 0 when unknown
	Field string
	Value string
	Msg   string
}

// Errors is every problem found in one config.
type Errors []*Error

// Load reads, validates and compiles the config at path. On failure the
// error is an Errors listing every problem. counters may be shared between
// loads so counters survive reloads.
func Load(path string, counters *Counters) (*Snapshot, error) { panic("unimplemented") }

// LoadDemo compiles the embedded three-country contoso lab config.
func LoadDemo(counters *Counters) (*Snapshot, error) { panic("unimplemented") }
