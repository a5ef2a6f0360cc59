# SPDX-License-Identifier: ISC
"""How many appends and fdatasyncs a disk takes side by side.

    /usr/bin/python3 bench/lmtp/parallel_syncs.py DIR [SIZE] [COUNT]

For 1, 2, 4 and 8 threads, each appends SIZE bytes (87000, the mean
message of bench/lmtp's mix) to a file of its own in DIR and fdatasyncs
it, COUNT (300) times, and prints the syncs per second of all of them and
the time of one.  It answers whether logs synced side by side (one per
connection or batch) would give LMTP more durable writes than one log:
see README.  Nothing of Bulwark runs.
"""
import os
import sys
import threading
import time


def worker(path, count, size, out, idx):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    data = b"\0" * size
    t0 = time.perf_counter()
    for _ in range(count):
        os.write(fd, data)
        os.fdatasync(fd)
    out[idx] = time.perf_counter() - t0
    os.close(fd)


def main():
    if len(sys.argv) not in (2, 3, 4):
        sys.exit("usage: parallel_syncs.py DIR [SIZE] [COUNT]")
    d = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 87000
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    for threads in (1, 2, 4, 8):
        out = [0.0] * threads
        paths = [os.path.join(d, "parallel-syncs.%d.%d" % (os.getpid(), i))
                 for i in range(threads)]
        ts = [threading.Thread(target=worker,
                               args=(paths[i], count, size, out, i))
              for i in range(threads)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        wall = time.perf_counter() - t0
        for p in paths:
            os.unlink(p)
        print("%d files side by side: %.0f syncs/s in all, %.2f ms a sync"
              % (threads, threads * count / wall, 1000 * wall / count))


if __name__ == "__main__":
    main()
