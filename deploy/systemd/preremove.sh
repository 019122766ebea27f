#!/bin/sh
# Runs before the sitedns deb/rpm is removed or upgraded. Stops the service
# only on removal: "remove" for deb, "0" (no version left) for rpm.
set -e
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now sitedns.service || true
	fi
	;;
esac
exit 0
