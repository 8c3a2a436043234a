# by_assembly.py DATA: self samples of a perf recording grouped by .NET assembly (JIT frames) or native module
import sys, re, subprocess, collections
out = subprocess.run(["perf", "report", "-i", sys.argv[1], "--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0"], capture_output=True, text=True).stdout
c = collections.Counter()
for line in out.splitlines():
    m = re.match(r'\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)', line) or re.match(r'\s+([\d.]+)%\s+(\S+)\s+(.*)', line)
    if not m: continue
    pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
    a = re.search(r'\[([A-Za-z][\w.]+)\]', sym)
    key = a.group(1) if (dso.startswith('[JIT]') and a) else dso
    key = re.sub(r'^(Microsoft\.EntityFrameworkCore|Npgsql|Microsoft\.AspNetCore|System\.Text\.Json|Microsoft\.Extensions|OpenTelemetry|System\.Linq|System\.Private\.CoreLib|System\.Net)\b.*', r'\1', key)
    c[key] += pct
import signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL)
for k, v in c.most_common(22): print(f"{v:6.2f}%  {k}")
