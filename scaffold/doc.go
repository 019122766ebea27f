// Package scaffold writes the sitedns configuration of an OCS 2007 R2 +
// Exchange 2007/2010 lab, and the certificate and firewall plan that goes
// with it, from a short description of the lab: the SIP and SMTP domains,
// the sites with their subnets, scopes and Client Access Servers, the pool,
// the Edge server, the reverse proxy and Communicator Web Access.
//
// The description comes from a TOML answers file (LoadAnswers), from flags
// for a one-site lab (Flags), or from questions on a terminal (Ask). Each
// is validated into a Lab, strictly: an unknown key, a missing domain, an
// address that does not parse, a site without subnets or two roles with one
// name are errors that name the file (or flag), the line and the field.
//
// Config writes the sitedns TOML: split DNS through scopes (each site's
// scope gets the internal answers, unknown clients the default set or
// nothing), the OCS sign-in SRV and fallback A records, the Edge names,
// Autodiscover per scope, mail, MX, the affinity names and the CWA names.
// NewPlan works out which names go on which certificate and which ports to
// open between which roles, for Markdown or CSV.
//
//	lab, err := scaffold.LoadAnswers("contoso-3country.answers.toml")
//	if err != nil {
//		return err // an Errors, one line per problem
//	}
//	os.WriteFile("sitedns.toml", scaffold.Config(lab), 0o644)
//	scaffold.NewPlan(lab).WriteMarkdown(os.Stdout)
//
// The output is deterministic: the same answers give the same bytes, so it
// can be kept in version control and diffed.
package scaffold
