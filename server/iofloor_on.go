//go:build iofloor

package server

// ioFloor is set in a build for deploy/bench's sitedns-floor (go build
// -tags iofloor): see floorReply.
const ioFloor = true
