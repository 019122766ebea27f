//go:build !iofloor

package server

// ioFloor is off in every build but deploy/bench's sitedns-floor: see
// floorReply.
const ioFloor = false
