#!/usr/bin/env python3
"""Hand measurement of the 6.x gc worker's CPU per eviction (MachineCosts gcEvictNs), as root.

In a fresh network namespace, N unreplied UDP flows are created (the live helper's sender, ports
20000 on, dropped at input so none gets a reply), then the kworkers' CPU time (the sum of every
kworker thread's /proc/<pid>/schedstat) is read over a window in which the gc worker either
evicts them (nf_conntrack_udp_timeout 1 s: expired) or only scans them (timeout 600 s). The
difference between the two windows, over N, is the cost of an eviction; nothing listens, so no
event is built. Prints one JSON line per window and the estimate.

    scripts/measure-gc-evict.py [N] [REPEATS]
"""
import json, os, subprocess, sys, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 40000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'experiments', 'live', 'listener.py')
RULES = ('table inet nfctsim {\n chain in { type filter hook input priority 0; policy accept; udp dport 20000-60000 drop; }\n'
         ' chain out { type filter hook output priority 0; policy accept; ct state new counter; }\n}\n')


def kworker_ns():
    total = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/comm') as f:
                if not f.read().startswith('kworker'):
                    continue
            with open(f'/proc/{pid}/schedstat') as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a kworker that exited meanwhile
    return total


def ns_exec(ns, *args, **kw):
    return subprocess.run(['ip', 'netns', 'exec', ns, *args], check=True, capture_output=True, text=True, **kw).stdout


def window(timeout_s, window_s):
    ns = f'gcmeasure-{os.getpid()}'
    subprocess.run(['ip', 'netns', 'add', ns], check=True)
    try:
        ns_exec(ns, 'ip', 'link', 'set', 'lo', 'up')
        ns_exec(ns, 'nft', '-f', '-', input=RULES)
        ns_exec(ns, 'sh', '-c', f'echo {timeout_s} > /proc/sys/net/netfilter/nf_conntrack_udp_timeout')
        ns_exec(ns, 'python3', HELPER, 'send', '20000', str(N), '0')
        count = lambda: int(ns_exec(ns, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count'))
        before_count = count()
        t0 = time.monotonic()
        k0 = kworker_ns()
        with open('/proc/loadavg') as f:
            load = f.read().split()[0]
        time.sleep(window_s)
        k1 = kworker_ns()
        return {'timeout_s': timeout_s, 'entries': before_count, 'left': count(),
                'window_s': round(time.monotonic() - t0, 3), 'kworker_ms': (k1 - k0) / 1e6, 'load': float(load)}
    finally:
        subprocess.run(['ip', 'netns', 'del', ns], check=True)


if __name__ == '__main__':
    WINDOW_S = 70  # longer than the gc worker's longest pause (GC_SCAN_INTERVAL_MAX, 60 s)
    est = []
    for r in range(REPEATS):
        evict = window(1, WINDOW_S)
        scan = window(600, WINDOW_S)
        print(json.dumps({'repeat': r, 'evict': evict, 'scan': scan}), flush=True)
        evicted = evict['entries'] - evict['left']
        if evicted > 0:
            est.append((evict['kworker_ms'] - scan['kworker_ms']) * 1e6 / evicted)
    est.sort()
    print(json.dumps({'gc_evict_ns_per_entry': [round(x) for x in est], 'median': round(est[len(est) // 2]) if est else None}))
