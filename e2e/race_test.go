//go:build race

package e2e

// With -race the tests run under -race, so the binary they start is built
// with -race too (CI runs go test -race), and a data race in the server
// fails the test that reached it.
func init() {
	buildFlags = append(buildFlags, "-race")
	raceBuild = true
}
