#!/bin/sh
# Runs after the sitedns deb/rpm is removed: forget the unit file.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
