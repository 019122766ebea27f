// Package loadtest measures how a DNS server spreads its answers: whether
// every target (a Client Access Server's address, an SRV target) is handed
// out first as often as it should be, whether each client site gets only its
// own scope's targets, and whether netmask ordering puts the record in the
// client's own network first. It works against any server: sitedns, BIND,
// Knot, Windows DNS.
//
// A run sends a bounded stream of queries (Config.Queries, Config.Duration,
// Config.Rate) for every (client, name, type) in turn, from Config.Concurrency
// workers with one query in flight each. Clients are real source addresses
// (Config.Bind: each client's UDP socket is bound to its own address, e.g.
// 127.2.1.77, all of 127.0.0.0/8 being local on Linux) and/or an EDNS Client
// Subnet option (Config.ECS, RFC 7871). A truncated UDP answer is asked again
// over TCP. With Config.Servers the queries go to several servers in turn
// (query i to server i mod n), as to replicas behind a load balancer, and the
// report adds their answers up. Clients are grouped by site (from a [[site]]
// map or given per client), and the report has one Group per (site, name,
// type).
//
// # Usage
//
//	clients, _ := loadtest.ParseClients("127.2.1.0/24=US-Chicago:US,127.9.0.5", nil)
//	report, err := loadtest.Run(ctx, loadtest.Config{
//		Server: "127.0.0.1:5300", Names: []string{"affinityus.contoso.lab"},
//		Queries: 3000, Clients: clients, Bind: true, NetmaskOrdering: true,
//	}, nil)
//	if err == nil {
//		loadtest.WriteText(os.Stdout, report)
//	}
//
// # Why these statistics
//
// Only the first record of an answer is counted per target: clients (Outlook,
// the OCS client, most stub resolvers) connect to the first address, so the
// first-answer distribution is the load each CAS gets.
//
// The expected distribution is built per client and summed over the group,
// because the right expectation depends on the client: with
// Config.NetmaskOrdering a client whose own network (/24, Windows's default
// LocalNetPriority mask) holds some of the targets should get those first,
// spread evenly among themselves, and a client with none should get plain
// round robin over all of them. Targets and weights come from an Expectation
// for the client's scope when there is one, else from the targets the group
// saw (equal weights). Summing per-client expectations keeps a group that
// mixes local and remote clients testable with one statistic.
//
// Pearson's chi-square goodness-of-fit statistic Σ(observed−expected)²/expected
// over the targets, with k−1 degrees of freedom, answers "could these counts
// come from the expected shares?" Its p-value is the upper tail of the
// chi-square distribution, Q(df/2, x/2), computed with the regularized
// incomplete gamma function (series below a+1, continued fraction above, so
// small tails keep their precision). A group is "unfair" when p is below
// Config.Alpha (default 0.01) divided by the number of groups: a run tests many
// groups at once, and without the Bonferroni correction a run of a perfect
// server with 20 groups would call one of them unfair more often than not at
// the 5% level. Two readings follow from what the test is:
//
//   - Deterministic rotation (Windows, sitedns) hands each target out almost
//     exactly equally often, so its statistic is near 0 and its p-value near 1:
//     "more even than chance" is not a failure, the test only rejects a spread
//     that is too uneven.
//   - With enough queries the test rejects even a small skew. So the report
//     also gives an effect size that does not grow with the sample: max/min,
//     the largest over the smallest of observed/expected across targets (1 is
//     perfectly even, +Inf when a target was never first, as under a fixed
//     order). LowCount marks groups with an expected count under 5, where the
//     chi-square approximation is poor.
//
// A first answer outside the expected targets is a category expected zero
// times: the statistic is +Inf and p is 0. Such answers, and any answer that
// holds a record outside the expected targets at all, are counted as
// affinity violations; with no expectation for the group there is nothing to
// violate and the count is -1 ("-" in the tables).
//
// The netmask hit fraction is the share of answers whose first record is in
// the client's own network; the share among answers that held such a record
// at all ("local 1st") is 100% for a server that does netmask ordering.
// Latency quantiles are nearest-rank over every response (the run keeps them
// all; MaxQueries bounds the memory), from the first send to the final
// answer, TCP retry included.
//
// The queries go out in blocks, one per (client, name, type), each block in a
// fresh random order. A fixed order would alias with a server's shared
// rotation counter (9 clients and 3 targets: client k would always see
// counter positions ≡ k mod 3) and show a fair server as unfair per site;
// real clients do not query in lockstep either.
//
// JSON output writes NaN as null and infinities as "+Inf"/"-Inf".
package loadtest
