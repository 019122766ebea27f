package ordering

import (
	"fmt"
	"net/netip"
)

// The affinityus example (docs/design.md#the-affinityus-example): affinityus holds one CAS per US site. A Chicago
// client always gets the Chicago CAS first, the other two alternating; a
// client outside every site gets all three in turn.
func ExampleSet() {
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.1.10"), // California
		netip.MustParseAddr("10.2.1.10"), // Chicago
		netip.MustParseAddr("10.3.1.10"), // Florida
	}
	set, err := NewSet(DefaultPolicy(), addrs, true, nil)
	if err != nil {
		panic(err)
	}
	order := make([]int, set.Len()) // once, reused for every query
	for _, client := range []string{"10.2.1.77", "10.2.1.77", "10.9.9.9", "10.9.9.9"} {
		local := set.Order(order, netip.MustParseAddr(client))
		fmt.Print(client, " local ", local, ":")
		for _, i := range order {
			fmt.Print(" ", addrs[i])
		}
		fmt.Println()
	}
	// Output:
	// 10.2.1.77 local 1: 10.2.1.10 10.1.1.10 10.3.1.10
	// 10.2.1.77 local 1: 10.2.1.10 10.3.1.10 10.1.1.10
	// 10.9.9.9 local 0: 10.3.1.10 10.1.1.10 10.2.1.10
	// 10.9.9.9 local 0: 10.1.1.10 10.2.1.10 10.3.1.10
}

func ExampleSites() {
	sites, err := NewSites([][]netip.Prefix{
		{netip.MustParsePrefix("10.0.0.0/8")},  // site 1: the company
		{netip.MustParsePrefix("10.2.0.0/16")}, // site 2: US-Chicago
	})
	if err != nil {
		panic(err)
	}
	for _, client := range []string{"10.2.3.4", "10.9.9.9", "192.0.2.1"} {
		site, bits := sites.Lookup(netip.MustParseAddr(client))
		fmt.Println(client, site, bits)
	}
	// Output:
	// 10.2.3.4 2 16
	// 10.9.9.9 1 8
	// 192.0.2.1 0 0
}
