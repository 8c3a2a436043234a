#!/usr/bin/env bash
# The full chaos run (README, "Chaos run"): the Chaos test category at full size. Prints the test's progress and
# summary table, and writes the table to .run/chaos/summary.md and every process's output to .run/chaos/logs/.
#   scripts/chaos.sh     5,200 operations on 1,040 resources, faults for 420 s (about 10-15 minutes on 2 cores)
# Sizes: CHAOS_OPERATIONS, CHAOS_RESOURCES, CHAOS_SECONDS, CHAOS_CLIENTS; CHAOS_SEED repeats a run's choices.
set -uo pipefail
cd "$(dirname "$0")/.."
out="$PWD/.run/chaos"
rm -rf "$out"
mkdir -p "$out"
export CHAOS_OPERATIONS="${CHAOS_OPERATIONS:-5200}"
export CHAOS_RESOURCES="${CHAOS_RESOURCES:-1040}"
export CHAOS_SECONDS="${CHAOS_SECONDS:-420}"
export CHAOS_CLIENTS="${CHAOS_CLIENTS:-8}"
export CHAOS_REPORT="$out/summary.md"
export CHAOS_LOGS="$out/logs"
echo "Chaos run: $CHAOS_OPERATIONS operations on $CHAOS_RESOURCES resources, faults for $CHAOS_SECONDS s, $CHAOS_CLIENTS clients"
dotnet test tests/Chaos.Tests --nologo --filter "Category=Chaos" --logger "console;verbosity=detailed" 2>&1 | tee "$out/test.log"
rc=${PIPESTATUS[0]}
echo
if [ -f "$CHAOS_REPORT" ]; then
  cat "$CHAOS_REPORT"
  echo "Summary written to $CHAOS_REPORT; process logs in $CHAOS_LOGS/"
else
  echo "No summary was written (the run failed before the end); see $out/test.log" >&2
fi
exit "$rc"
