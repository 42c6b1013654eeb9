#!/usr/bin/env bash
# Makes sure Debian's nats-server is present for the NATS fan-out tests (test/publish): they start
# real servers themselves (JetStream on 127.0.0.1, random ports, temporary store directories).
# Installs it with apt-get when it is missing and you are root; otherwise says what to install.
set -euo pipefail
if [ -n "${NATS_SERVER:-}" ] && [ -x "${NATS_SERVER}" ]; then exit 0; fi
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || [ -x /usr/bin/nats-server ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's nats-server for the NATS tests (apt-get)…" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  # The package enables a system service; the tests start their own servers.
  exit 0
fi
echo "The NATS tests need nats-server (2.9+): run 'sudo apt-get install nats-server' (Debian/Ubuntu), or set NATS_SERVER to its path, and retry." >&2
exit 1
