#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL and prints one summary line.
# PostgreSQL: $OUTBOXSYNC_TEST_DATABASE if set, else a throwaway cluster from the installed binaries.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trx=$(mktemp -d)
dotnet test OutboxSync.sln --nologo -v q --logger "console;verbosity=minimal" --logger trx --results-directory "$trx" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
echo
# The hostile-input and tenancy suites' case counts (their cases are generated inside tests or theory rows).
python3 scripts/test-case-counts.py "$trx" || echo "(case counts unavailable)"
rm -rf "$trx"
summary=$(grep -E '^(Passed|Failed)!' "$log" | awk -F'[:,]' '
  { failed += $2; passed += $4; skipped += $6 }
  END { printf "%d passed, %d failed, %d skipped", passed, failed, skipped }')
rm -f "$log"
echo
echo "Tests: ${summary:-0 passed, 0 failed, 0 skipped}"
exit "$rc"
