package zones

// The config file's schema, as decoded by BurntSushi/toml. Every table is
// strict: a key not listed here is an error naming its line. Pointers mark
// settings that are inherited when unset (ordering) or that distinguish "not
// given" from "empty" (metrics_listen = "" turns the listener off).

// fileConfig is a whole config file.
type fileConfig struct {
	Server   serverConfig    `toml:"server"`
	Ordering *orderingConfig `toml:"ordering"`
	Site     []siteConfig    `toml:"site"`
	Zone     []zoneConfig    `toml:"zone"`
	RRL      *rrlConfig      `toml:"rrl"`
	Check    []checkConfig   `toml:"check"`
	TSIG     []tsigConfig    `toml:"tsig"`
}

// tsigConfig is one [[tsig]]: a shared key for signing zone transfers
// (RFC 8945).
type tsigConfig struct {
	Name      string `toml:"name"`
	Algorithm string `toml:"algorithm"`
	Secret    string `toml:"secret"`
}

// serverConfig is the [server] table.
type serverConfig struct {
	Listen        []string `toml:"listen"`
	MetricsListen *string  `toml:"metrics_listen"`
	ClientSubnet  bool     `toml:"client_subnet"`
	AXFRAllow     []string `toml:"axfr_allow"`
	Identity      *string  `toml:"identity"`
	Version       *string  `toml:"version"`
	MaxUDPSize    *int     `toml:"max_udp_size"`
	JournalDir    string   `toml:"journal_dir"`
}

// rrlConfig is the [rrl] table: response rate limiting (see RateLimit).
// Unset keys take their defaults; without responses_per_second it is off.
type rrlConfig struct {
	ResponsesPerSecond *int     `toml:"responses_per_second"`
	NXDomainsPerSecond *int     `toml:"nxdomains_per_second"`
	ErrorsPerSecond    *int     `toml:"errors_per_second"`
	Window             *int     `toml:"window"` // seconds
	Slip               *int     `toml:"slip"`
	IPv4Prefix         *int     `toml:"ipv4_prefix"`
	IPv6Prefix         *int     `toml:"ipv6_prefix"`
	Exempt             []string `toml:"exempt"`
}

// orderingConfig is an [ordering] table at the top level, in a [[zone]] or in
// a [[zone.name]]. Unset keys inherit from the enclosing level; the nearest
// level that sets a key wins.
type orderingConfig struct {
	Mode              *string   `toml:"mode"`
	RoundRobin        *bool     `toml:"round_robin"`
	NetmaskOrdering   *bool     `toml:"netmask_ordering"`
	Netmask           *string   `toml:"netmask"`
	RemoteOrder       *string   `toml:"remote_order"`
	NoRoundRobinTypes *[]string `toml:"no_round_robin_types"`
	IPv6Prefix        *int      `toml:"ipv6_prefix"`
}

// siteConfig is one [[site]].
type siteConfig struct {
	Name    string   `toml:"name"`
	Subnets []string `toml:"subnets"`
	Scope   string   `toml:"scope"`
}

// zoneConfig is one [[zone]].
type zoneConfig struct {
	Origin   string          `toml:"origin"`
	File     string          `toml:"file"`
	Records  []string        `toml:"records"`
	Ordering *orderingConfig `toml:"ordering"`
	Name     []nameConfig    `toml:"name"`
	DNSSEC   *dnssecConfig   `toml:"dnssec"`
	// Check names the [[check]] of the zone's A and AAAA sets of more
	// than one record.
	Check string `toml:"check"`

	// A secondary zone: its records come from its primaries by AXFR/IXFR.
	Primaries  []string `toml:"primaries"`
	TSIG       string   `toml:"tsig"`
	NotifyFrom []string `toml:"notify_from"`
	Store      string   `toml:"store"`
	// Any zone: where to send NOTIFY when its serial changes, and the
	// key transfers out and those NOTIFYs are signed with.
	AlsoNotify   []string `toml:"also_notify"`
	TransferTSIG string   `toml:"transfer_tsig"`
}

// dnssecConfig is a [zone.dnssec] table: the zone is signed when it is
// present (see signing.go).
type dnssecConfig struct {
	Keys              []string `toml:"keys"`
	SignatureValidity *string  `toml:"signature_validity"`
	Refresh           *string  `toml:"refresh"`
	Denial            *string  `toml:"denial"`
}

// nameConfig is one [[zone.name]]: a name with its own ordering settings,
// weights, or answer sets per scope.
type nameConfig struct {
	Name     string                 `toml:"name"`
	Records  []string               `toml:"records"`
	Weights  []int                  `toml:"weights"`
	Ordering *orderingConfig        `toml:"ordering"`
	Scope    map[string]answersConf `toml:"scope"`
	Default  *answersConf           `toml:"default"`
	// Check names the [[check]] of every A and AAAA set of the name, and
	// of the targets of its SRV records.
	Check string `toml:"check"`
}

// answersConf is the answer set of one scope, or the default one.
type answersConf struct {
	Records []string `toml:"records"`
	Weights []int    `toml:"weights"`
}

// checkConfig is one [[check]]: a health probe answer sets can name. Unset
// keys take the defaults of the health package.
type checkConfig struct {
	Name          string  `toml:"name"`
	Type          string  `toml:"type"`
	Port          *int    `toml:"port"`
	Path          *string `toml:"path"`
	ExpectStatus  []int   `toml:"expect_status"`
	TLSServerName string  `toml:"tls_server_name"`
	TLSVerify     *bool   `toml:"tls_verify"`
	CAFile        string  `toml:"ca_file"`
	Interval      *string `toml:"interval"`
	Timeout       *string `toml:"timeout"`
	Rise          *int    `toml:"rise"`
	Fall          *int    `toml:"fall"`
	Source        string  `toml:"source"`
}
