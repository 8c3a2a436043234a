# below.py DATA REGEX [DEPTH]: share of samples whose stack has a frame matching REGEX, and the frames DEPTH levels below it
import sys, re, subprocess, collections
data, rx, depth = sys.argv[1], re.compile(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1
out = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym"], capture_output=True, text=True).stdout
stacks, cur = [], []
for line in out.splitlines():
    if not line.strip():
        if cur: stacks.append(cur); cur = []
        continue
    parts = line.strip().split(None, 1)
    sym = parts[1] if len(parts) > 1 else parts[0]
    sym = re.sub(r'\[Optimized[^\]]*\]|instance |class |valuetype |\[System[^\]]*\]', '', sym)
    sym = re.sub(r'\(.*', '', sym)
    cur.append(sym)
if cur: stacks.append(cur)
total = len(stacks); hit = 0; c = collections.Counter()
for st in stacks:  # leaf first
    idx = [i for i, f in enumerate(st) if rx.search(f)]
    if not idx: continue
    hit += 1; i = idx[-1]  # outermost match
    j = i - depth
    c[st[j] if j >= 0 else '<self>'] += 1
import signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL)
print(f"{hit}/{total} samples ({100*hit/total:.1f}%) under {sys.argv[2]}")
for k, v in c.most_common(25): print(f"{100*v/total:6.2f}%  {k[:200]}")
