package scaffold

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Ask asks for a one-site lab question by question on in, writing the
// questions to out, then prints the equivalent command line (to run again
// without questions) and validates the answers as Flags.Lab does.
func Ask(in io.Reader, out io.Writer) (*Lab, error) {
	sc := bufio.NewScanner(in)
	ask := func(q, def string) (string, error) {
		if def != "" {
			fmt.Fprintf(out, "%s [%s]: ", q, def)
		} else {
			fmt.Fprintf(out, "%s: ", q)
		}
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return "", err
			}
			return "", errors.New("no answer (end of input)")
		}
		if a := strings.TrimSpace(sc.Text()); a != "" {
			return a, nil
		}
		return def, nil
	}
	var args []string
	arg := func(name, value string) {
		if value != "" {
			args = append(args, "-"+name, value)
		}
	}
	fmt.Fprintln(out, "A one-site OCS 2007 R2 + Exchange lab. Leave an answer empty to skip it (or take the [default]).")
	var domain, site, pool, edgeInt, rp string
	noEdge := func() bool { return edgeInt == "" }
	questions := []struct {
		q    string
		def  func() string
		skip func() bool
		do   func(string)
	}{
		{q: "SIP and SMTP domain (e.g. contoso.lab)", do: func(s string) { domain = s; arg("domain", s) }},
		{q: "Site name", def: func() string { return "HQ" }, do: func(s string) { site = s }},
		{q: "Site subnets, comma separated (e.g. 10.1.0.0/16)", do: func(s string) { arg("site", site+"="+s) }},
		{q: "Client Access Servers, [name=]address, comma separated", do: func(s string) {
			for _, c := range strings.Split(s, ",") {
				arg("cas", strings.TrimSpace(c))
			}
		}},
		{q: "OCS pool FQDN", def: func() string { return "pool01." + domain }, do: func(s string) { pool = s }},
		{q: "OCS pool address (load balancer VIP or server)", do: func(s string) { arg("pool", pool+"="+s) }},
		{q: "This DNS server's address (for the NS records)", do: func(s string) {
			if s != "" {
				arg("ns", "ns1="+s)
			}
		}},
		{q: "Edge internal interface, fqdn=address (empty: no Edge)", do: func(s string) { edgeInt = s; arg("edge-internal", s) }},
		{q: "Access Edge external address (sip.<domain>)", skip: noEdge, do: func(s string) { arg("edge-sip", s) }},
		{q: "Web Conferencing Edge external address (empty: the Access Edge address, port 444)", skip: noEdge,
			do: func(s string) { arg("edge-webconf", s) }},
		{q: "A/V Edge external address", skip: noEdge, do: func(s string) { arg("edge-av", s) }},
		{q: "Reverse proxy external address (empty: none)", do: func(s string) { rp = s; arg("reverse-proxy", s) }},
		{q: "External web farm FQDN", def: func() string { return "ocsext." + domain },
			skip: func() bool { return rp == "" }, do: func(s string) { arg("web-farm-external", s) }},
		{q: "Certificates: per-role, or single (one SAN certificate for the Edge, the proxy and the CAS)",
			def: func() string { return string(CertsPerRole) }, skip: func() bool { return noEdge() && rp == "" },
			do: func(s string) {
				if s != string(CertsPerRole) {
					arg("certificates", s)
				}
			}},
	}
	for _, q := range questions {
		if q.skip != nil && q.skip() {
			continue
		}
		def := ""
		if q.def != nil {
			def = q.def()
		}
		a, err := ask(q.q, def)
		if err != nil {
			return nil, err
		}
		q.do(a)
	}
	fmt.Fprintf(out, "\nThe same without questions:\n  sitedns scaffold %s\n\n", strings.Join(args, " "))

	var f Flags
	fs := flag.NewFlagSet("scaffold", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return f.Lab()
}
