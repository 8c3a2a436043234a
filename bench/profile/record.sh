#!/usr/bin/env bash
# On-CPU profile of one running .NET process (API, worker or simulator) while a load runs elsewhere.
#   bench/profile/record.sh PID SECONDS OUT.data
# Start the process with DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 so JIT frames get names, and warm
# it up first (20 s of the same load): a cold process profiles the JIT. Then read the result with
#   python3 bench/profile/by_assembly.py OUT.data          # self time by assembly / module
#   python3 bench/profile/below.py OUT.data REGEX [DEPTH]   # share of samples under a frame, and what it calls
#   perf report -i OUT.data --no-children --sort sym        # top symbols
set -euo pipefail
pid=$1; seconds=${2:-10}; out=${3:-perf.data}
perf record -F 299 -g -p "$pid" -o "$out" -- sleep "$seconds"
