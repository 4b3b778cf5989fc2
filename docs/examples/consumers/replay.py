#!/usr/bin/env python3
"""A consumer test in Python: replays an nfct-sim fixture into a flow table, the way an event
consumer (an exporter, a conntrackd replacement) would, and reports what it ends with.

  python3 replay.py fixture.jsonl LISTENER      # JSON Lines (nfct-sim fixture ... )
  python3 replay.py LISTENER.pcap               # pcap (nfct-sim fixture ... --format pcap)

Prints one JSON object: messages by type, ENOBUFS seen, flows still open, DESTROYs for flows
it never saw (lost NEWs) and DESTROYs that arrived twice.
"""
import json, struct, sys


def from_jsonl(path, listener):
    for line in open(path):
        r = json.loads(line)
        if r['listener'] != listener:
            continue
        if r['kind'] == 'msg':
            yield r['type'], (r['proto'], r['src'], r['dst'], r['sport'], r['dport']), r['id']
        elif r['kind'] == 'enobufs':
            yield 'enobufs', None, None


def attrs(buf):
    off = 0
    while off + 4 <= len(buf):
        ln, typ = struct.unpack_from('<HH', buf, off)
        yield typ & 0x3FFF, buf[off + 4:off + ln]
        off += (ln + 3) & ~3


def tuple_of(buf):
    t = dict(attrs(buf))
    ip, proto = dict(attrs(t[1])), dict(attrs(t[2]))
    import ipaddress
    src = ipaddress.ip_address(ip.get(1) or ip.get(3))
    dst = ipaddress.ip_address(ip.get(2) or ip.get(4))
    name = {6: 'tcp', 17: 'udp'}[proto[1][0]]
    return (name, str(src), str(dst), struct.unpack('>H', proto[2])[0], struct.unpack('>H', proto[3])[0])


def from_pcap(path):
    data = open(path, 'rb').read()
    assert struct.unpack_from('<I', data, 0)[0] == 0xA1B23C4D and struct.unpack_from('<I', data, 20)[0] == 253
    off = 24
    while off < len(data):
        incl = struct.unpack_from('<I', data, off + 8)[0]
        msg = data[off + 32:off + 16 + incl]
        off += 16 + incl
        ln, typ, flags = struct.unpack_from('<IHH', msg, 0)
        if typ == 2:  # NLMSG_ERROR: nfct-sim's ENOBUFS marker
            yield 'enobufs', None, None
            continue
        top = dict(attrs(msg[20:ln]))
        kind = 'destroy' if typ & 0xFF == 2 else 'new' if flags & 0x600 else 'update'
        yield kind, tuple_of(top[1]), struct.unpack('>I', top[12])[0]


def replay(events):
    table, report = {}, {'new': 0, 'update': 0, 'destroy': 0, 'enobufs': 0, 'unknown_destroy': 0, 'repeated_destroy': 0}
    gone = set()
    for kind, tup, ct_id in events:
        report[kind] += 1
        if kind in ('new', 'update'):
            table[tup] = ct_id
            gone.discard((tup, ct_id))
        elif kind == 'destroy':
            if table.get(tup) == ct_id:
                del table[tup]
                gone.add((tup, ct_id))
            elif (tup, ct_id) in gone:
                report['repeated_destroy'] += 1
            else:
                report['unknown_destroy'] += 1
    report['open_flows'] = len(table)
    return report


if __name__ == '__main__':
    src = from_pcap(sys.argv[1]) if sys.argv[1].endswith('.pcap') else from_jsonl(sys.argv[1], sys.argv[2])
    print(json.dumps(replay(src), sort_keys=True))
