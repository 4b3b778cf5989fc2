#!/usr/bin/env bash
# Hand measurement of conntrack -C, -L and a -D that matches nothing, as root: in a fresh network
# namespace with N unreplied UDP flows (the live helper's sender; the input chain drops them, so
# none gets a reply), each command 20 times with the helper's `time` (wait4 rusage). Prints the
# median CPU, user time and wall time per command. MachineCosts listEntryNs comes from two runs:
# (CPU of -L at N2 - at N1) / (N2 - N1).
#
#   sudo scripts/measure-admin-commands.sh 200 20000
set -euo pipefail
cd "$(dirname "$0")/.."
ns=admincost-$$
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
for n in "$@"; do
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  printf 'table inet nfctsim {\n chain in { type filter hook input priority 0; policy accept; udp dport 20000-60000 drop; }\n chain out { type filter hook output priority 0; policy accept; ct state new counter; }\n}\n' |
    ip netns exec "$ns" nft -f -
  ip netns exec "$ns" python3 experiments/live/listener.py send 20000 "$n" 0 >/dev/null
  echo "entries $n, buckets $(cat /proc/sys/net/netfilter/nf_conntrack_buckets), load $(cut -d' ' -f1 /proc/loadavg)"
  for cmd in "conntrack -C" "conntrack -L" "conntrack -D -p udp -d 127.0.0.1 --dport 1"; do
    # shellcheck disable=SC2086
    ip netns exec "$ns" python3 experiments/live/listener.py time 0 20 10 $cmd | python3 -c "
import json, statistics, sys
r = [json.loads(l) for l in sys.stdin]
med = lambda k: statistics.median(k(x) for x in r) / 1e3
print('  %-56s cpu %9.1f us  user %8.1f us  wall %9.1f us' % ('$cmd', med(lambda x: x['utime_ns'] + x['stime_ns']), med(lambda x: x['utime_ns']), med(lambda x: x['wall_ns'])))"
  done
  ip netns del "$ns"
done
