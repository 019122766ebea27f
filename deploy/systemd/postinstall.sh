#!/bin/sh
# Runs after the sitedns deb/rpm is installed or upgraded. The service is not
# enabled here: the admin edits /etc/sitedns/sitedns.toml first, then runs
# "systemctl enable --now sitedns". An upgrade restarts a running service.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if systemctl is-active --quiet sitedns.service; then
		systemctl try-restart sitedns.service || true
	fi
fi
exit 0
