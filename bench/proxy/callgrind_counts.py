#!/usr/bin/env python3
"""Counts from a callgrind output file, divided by a number of transactions.

  callgrind_counts.py FILE TXNS [TOP]

Prints instructions (Ir) per transaction, calls per transaction to the
allocator (malloc, calloc, realloc, aligned allocations; operator new calls
malloc and is not counted twice), to pthread mutex locks and to the libc
syscall wrappers, then the TOP functions by their own instructions per
transaction. Function names in callgrind files are compressed: "(N) name" the
first time, "(N)" afterwards; both are resolved here.
"""
import re
import sys

ALLOC = re.compile(r"^(malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign)$")
LOCK = re.compile(r"^(pthread_mutex_lock|___pthread_mutex_lock|__pthread_mutex_lock|pthread_rwlock_rdlock|"
                  r"pthread_rwlock_wrlock|___pthread_rwlock_rdlock|___pthread_rwlock_wrlock)$")
SYS = re.compile(r"^(read|write|recvmsg|sendmsg|recv|send|readv|writev|__libc_recvmsg|__libc_sendmsg|"
                 r"epoll_wait|epoll_ctl|__GI_epoll_wait|__libc_read|__libc_write|__GI___writev|__GI___readv)$")


def main():
    path, txns = sys.argv[1], int(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    names = {}
    events = None
    total = 0
    self_ir = {}
    calls = {}
    fn = None
    cfn = None
    pending_call = False

    def resolve(s):
        m = re.match(r"\((\d+)\)(?: (.*))?$", s)
        if not m:
            return s
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), s)

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
            elif line.startswith("fn="):
                fn = resolve(line[3:])
            elif line.startswith("cfn="):
                cfn = resolve(line[4:])
            elif line.startswith("calls="):
                n = int(line[6:].split()[0])
                calls[cfn] = calls.get(cfn, 0) + n
                pending_call = True
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                if pending_call:  # the cost line of a call: inclusive, not the caller's own
                    pending_call = False
                    continue
                if len(parts) >= 2 and fn is not None:
                    try:
                        self_ir[fn] = self_ir.get(fn, 0) + int(parts[1])
                    except ValueError:
                        pass
    if not total:
        total = sum(self_ir.values())

    def per(n):
        return n / txns

    def count(rx):
        return sum(v for k, v in calls.items() if k and rx.match(k.split("'")[0].split("@")[0]))

    print(f"instructions/txn {per(total):.0f}")
    print(f"allocations/txn {per(count(ALLOC)):.1f}")
    print(f"mutex-locks/txn {per(count(LOCK)):.1f}")
    print(f"io-syscall-wrappers/txn {per(count(SYS)):.1f}")
    print(f"top {top} functions by own instructions per txn:")
    for name, ir in sorted(self_ir.items(), key=lambda x: -x[1])[:top]:
        print(f"  {per(ir):9.0f}  {100.0 * ir / total:5.1f}%  {name[:110]}")


if __name__ == "__main__":
    main()
