#!/usr/bin/env bash
# The full-size failover and partition runs (docs/reliability.md): both test categories at full size, one after the
# other. Needs root (network namespaces, nftables) and PostgreSQL's binaries (pg_basebackup).
#   scripts/failover.sh    2,000 operations on 400 resources over 150 s per run: a synchronous and an asynchronous
#                          failover, then the partition run (about 12 minutes on 2 cores)
# Sizes: FAILOVER_OPERATIONS, FAILOVER_RESOURCES, FAILOVER_SECONDS, FAILOVER_CLIENTS, FAILOVER_DETECTION_SECONDS;
# FAILOVER_SEED repeats a run's choices. Summary tables and process logs go to .run/failover/.
set -uo pipefail
cd "$(dirname "$0")/.."
out="$PWD/.run/failover"
rm -rf "$out"
mkdir -p "$out"
export FAILOVER_OPERATIONS="${FAILOVER_OPERATIONS:-2000}"
export FAILOVER_RESOURCES="${FAILOVER_RESOURCES:-400}"
export FAILOVER_SECONDS="${FAILOVER_SECONDS:-150}"
export FAILOVER_CLIENTS="${FAILOVER_CLIENTS:-6}"
export FAILOVER_REPORTS="$out"
echo "Failover and partition runs: $FAILOVER_OPERATIONS operations on $FAILOVER_RESOURCES resources over $FAILOVER_SECONDS s each"
dotnet test tests/Chaos.Tests --nologo --filter "Category=Failover|Category=Partition" --logger "console;verbosity=detailed" 2>&1 | tee "$out/test.log"
rc=${PIPESTATUS[0]}
echo
for table in "$out"/synchronous.md "$out"/asynchronous.md "$out"/partition.md; do
  [ -f "$table" ] && { echo "== $(basename "$table" .md)"; cat "$table"; echo; }
done
echo "Tables and logs in $out/"
exit "$rc"
