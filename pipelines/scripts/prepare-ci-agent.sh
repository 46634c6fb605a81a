#!/usr/bin/env bash
# Prepares a hosted Ubuntu agent (Azure Pipelines ubuntu-latest, GitHub Actions ubuntu-latest) for `npm ci && npm test`:
# the same services and tools .ci/run expects on the project's own machines.
#   - xmllint (libxml2-utils): the solution XML is validated against Microsoft's schemas
#   - /usr/bin/chromium: browser tests; hosted images ship Google Chrome, which the tests can drive the same way
#   - PostgreSQL on 127.0.0.1:5432, trust authentication, database "test", roles "postgres" and the agent user
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
command -v psql >/dev/null 2>&1 || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x /usr/bin/chromium ]; then
  browser="$(command -v chromium-browser || command -v google-chrome || command -v google-chrome-stable || true)"
  if [ -z "$browser" ]; then
    echo "prepare-ci-agent: no Chromium or Chrome on this agent; browser tests need one at /usr/bin/chromium" >&2
    exit 1
  fi
  $SUDO ln -sf "$browser" /usr/bin/chromium
fi

# Trust authentication on loopback only (CI agents are throwaway machines; never do this on a shared server).
version="$(ls /etc/postgresql | sort -V | tail -n1)"
hba="/etc/postgresql/${version}/main/pg_hba.conf"
$SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
$SUDO sed -i -E 's/^(local\s+all\s+all\s+)\S+/\1trust/' "$hba"
$SUDO pg_ctlcluster "$version" main restart || $SUDO pg_ctlcluster "$version" main start
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432

psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_roles WHERE rolname = '$(id -un)'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE ROLE \"$(id -un)\" SUPERUSER LOGIN"
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"
echo "prepare-ci-agent: xmllint, chromium and PostgreSQL (127.0.0.1:5432, database test) ready"
