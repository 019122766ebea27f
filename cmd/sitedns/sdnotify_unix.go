//go:build unix

package main

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// reloadingState is the RELOADING=1 notification with the CLOCK_MONOTONIC
// time systemd (253 and later) wants beside it to order the state changes.
func reloadingState() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return "RELOADING=1"
	}
	return "RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
}
