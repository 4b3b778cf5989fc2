#!/usr/bin/env python3
"""Live helper for nfct-sim's live runner (Python standard library only).

`listen`: opens a NETLINK_NETFILTER socket subscribed to the conntrack NEW/UPDATE/DESTROY groups with the
requested buffer and options, and writes one JSON line per message (time, type, flags, length,
CTA_ID, ports) and per ENOBUFS to stdout. With --hold it reads nothing until stdin closes, then
reports the socket's Rmem and Drops from /proc/net/netlink and drains the queue.
`time FIRST N GAP_MS ARGV...`: runs ARGV N times one after another (GAP_MS apart), each `{port}` in it
replaced by FIRST + i, and writes per command its start time on CLOCK_MONOTONIC, wall time, exit code
and CPU time (user and system, from wait4's rusage).
`send FIRST N RATE [START_NS]`: from CLOCK_MONOTONIC time START_NS on, one UDP packet to each of N ports from FIRST on 127.0.0.1 (RATE per second,
0 = as fast as possible); a packet the kernel refuses (EPERM: conntrack table full) is one JSON
line with its time; a summary line ends the run.
Why Python: Node has no AF_NETLINK; the standard library has, so nothing is built or fetched.
"""
import argparse, errno, json, os, select, socket, struct, subprocess, sys, time

SOL_NETLINK = 270
NETLINK_BROADCAST_ERROR = 4
NETLINK_NO_ENOBUFS = 5
SO_RCVBUFFORCE = 33
NETLINK_NETFILTER = 12
CTA_TUPLE_ORIG, CTA_TUPLE_PROTO, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT, CTA_ID = 1, 2, 2, 3, 12


def attrs(buf):
    off = 0
    while off + 4 <= len(buf):
        ln, typ = struct.unpack_from('HH', buf, off)
        if ln < 4:
            break
        yield typ & 0x7FFF, buf[off + 4:off + ln]
        off += (ln + 3) & ~3


def parse(msg):
    out = {}
    for typ, val in attrs(msg[20:]):
        if typ == CTA_ID and len(val) >= 4:
            out['id'] = struct.unpack('>I', val[:4])[0]
        elif typ == CTA_TUPLE_ORIG:
            for t2, v2 in attrs(val):
                if t2 == CTA_TUPLE_PROTO:
                    for t3, v3 in attrs(v2):
                        if t3 == CTA_PROTO_SRC_PORT:
                            out['sport'] = struct.unpack('>H', v3[:2])[0]
                        elif t3 == CTA_PROTO_DST_PORT:
                            out['dport'] = struct.unpack('>H', v3[:2])[0]
    return out


def proc_netlink(inode):
    with open('/proc/net/netlink') as f:
        next(f)
        for line in f:
            c = line.split()
            if int(c[-1]) == inode:
                return {'rmem': int(c[4]), 'drops': int(c[8])}
    return {}


def sched():
    """This process's scheduler counters: CPU and run-queue wait (ns), context switches."""
    with open('/proc/self/schedstat') as f:
        run, wait, _ = (int(x) for x in f.read().split())
    with open('/proc/self/status') as f:
        st = dict(l.split(':', 1) for l in f if ':' in l)
    return {'run_ns': run, 'wait_ns': wait, 'voluntary': int(st['voluntary_ctxt_switches']),
            'involuntary': int(st['nonvoluntary_ctxt_switches'])}


def send(first, n, rate, start_ns=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    emit = lambda d: print(json.dumps(d), flush=True)
    if start_ns > time.monotonic_ns():
        time.sleep((start_ns - time.monotonic_ns()) / 1e9)
    start = time.monotonic_ns()
    before = sched()
    failed = 0
    for i in range(n):
        if rate:
            wait = start + i * 1e9 / rate - time.monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
        try:
            s.sendto(b'x', ('127.0.0.1', first + i))
        except PermissionError:
            failed += 1
            emit({'kind': 'refused', 't_ns': time.monotonic_ns(), 'dport': first + i})
    end = time.monotonic_ns()
    after = sched()
    emit({'kind': 'sent', 'start_ns': start, 'end_ns': end, 'n': n, 'refused': failed,
          'sched': {k: after[k] - before[k] for k in after}})


def time_commands(first, n, gap_ms, argv):
    emit = lambda d: print(json.dumps(d), flush=True)
    for i in range(n):
        args = [a.replace('{port}', str(first + i)) for a in argv]
        start = time.monotonic_ns()
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        end = time.monotonic_ns()
        emit({'kind': 'timed', 'port': first + i, 'start_ns': start, 'wall_ns': end - start,
              'rc': child.returncode,
              'utime_ns': round(ru.ru_utime * 1e9), 'stime_ns': round(ru.ru_stime * 1e9)})
        time.sleep(gap_ms / 1000)


def main():
    if sys.argv[1:2] == ['time']:
        return time_commands(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:])
    if sys.argv[1:2] == ['send']:
        return send(*(int(x) for x in sys.argv[2:6]))
    if sys.argv[1:2] == ['listen']:
        del sys.argv[1]
    ap = argparse.ArgumentParser()
    ap.add_argument('--rcvbuf', type=int, default=0)
    ap.add_argument('--force', action='store_true')
    ap.add_argument('--broadcast-error', action='store_true')
    ap.add_argument('--no-enobufs', action='store_true')
    ap.add_argument('--delay-us', type=int, default=0, help='processing time per message (busy-waited)')
    ap.add_argument('--hold', action='store_true')
    ap.add_argument('--raw', action='store_true', help='add each message as hex')
    a = ap.parse_args()
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    if a.rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE if a.force else socket.SO_RCVBUF, a.rcvbuf)
    if a.broadcast_error:
        s.setsockopt(SOL_NETLINK, NETLINK_BROADCAST_ERROR, 1)
    if a.no_enobufs:
        s.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
    s.bind((0, 7))
    inode = os.fstat(s.fileno()).st_ino
    emit = lambda d: print(json.dumps(d), flush=True)
    emit({'kind': 'ready', 'rcvbuf': s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)})
    if a.hold:
        sys.stdin.read()  # the runner closes stdin when the traffic is done
        emit({'kind': 'held', **proc_netlink(inode)})
    s.setblocking(False)
    idle_since = time.monotonic()
    while True:
        r, _, _ = select.select([s, sys.stdin] if not a.hold else [s], [], [], 0.2)
        if sys.stdin in r and not sys.stdin.read(1):
            break
        if s not in r:
            if a.hold and time.monotonic() - idle_since > 0.5:
                break
            continue
        try:
            data = s.recv(65536)
        except OSError as e:
            if e.errno == errno.ENOBUFS:
                emit({'kind': 'enobufs', 't_ns': time.monotonic_ns()})
                continue
            if e.errno == errno.EAGAIN:
                continue
            raise
        idle_since = time.monotonic()
        t = time.monotonic_ns()
        off = 0
        while off + 16 <= len(data):
            ln, typ, flags, _seq, pid = struct.unpack_from('IHHII', data, off)
            kind = {0: 'new' if flags & 0x600 else 'update', 2: 'destroy'}.get(typ & 0xFF, 'other')
            line = {'kind': 'msg', 't_ns': t, 'type': kind, 'flags': flags, 'len': ln, 'portid': pid, **parse(data[off:off + ln])}
            if a.raw:
                line['hex'] = data[off:off + ln].hex()
            emit(line)
            off += (ln + 3) & ~3
        if a.delay_us:
            # Busy-wait: the cost must be known, and time.sleep overshoots by 0.1-0.5 ms.
            until = time.monotonic_ns() + a.delay_us * 1000
            while time.monotonic_ns() < until:
                pass
    emit({'kind': 'end', **proc_netlink(inode), 'sched': sched()})


if __name__ == '__main__':
    main()
