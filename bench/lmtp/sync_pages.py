# SPDX-License-Identifier: ISC
"""What one durable write of N pages costs on this disk, scattered or not.

    /usr/bin/python3 bench/lmtp/sync_pages.py [DIR]      (DIR: /var/tmp)

LMDB commits each transaction by writing the B-tree pages it changed,
wherever in the file they are, then fdatasync(); a delivery changes about
twenty.  This writes N 4 KiB pages (1, 10, 20 and 40) at random places of
a 100 MB file, or the same N as one contiguous write, then fdatasync()s,
500 times each, and prints the mean time of the writes and of the sync.
"""
import os
import random
import sys
import tempfile
import time

PAGE = 4096
FILE_PAGES = 25600          # 100 MB
ITERS = 500


def main():
    where = sys.argv[1] if len(sys.argv) > 1 else "/var/tmp"
    fd, path = tempfile.mkstemp(prefix="sync-pages.", dir=where)
    try:
        chunk = b"\1" * (1 << 20)
        for i in range(FILE_PAGES * PAGE // len(chunk)):
            os.pwrite(fd, chunk, i * len(chunk))
        os.fdatasync(fd)
        page = b"\2" * PAGE
        rnd = random.Random(1)
        for pages, scattered in ((1, False), (10, True), (20, True),
                                 (40, True), (40, False)):
            run = page * pages
            wt = st = 0.0
            for _ in range(ITERS):
                t0 = time.perf_counter()
                if scattered:
                    for _ in range(pages):
                        os.pwrite(fd, page,
                                  rnd.randrange(FILE_PAGES) * PAGE)
                else:
                    os.pwrite(fd, run,
                              rnd.randrange(FILE_PAGES - pages) * PAGE)
                t1 = time.perf_counter()
                os.fdatasync(fd)
                t2 = time.perf_counter()
                wt += t1 - t0
                st += t2 - t1
            print("%2d pages %-10s write %.3f ms  fdatasync %.3f ms" % (
                pages, "scattered" if scattered else "contiguous",
                wt / ITERS * 1e3, st / ITERS * 1e3), flush=True)
    finally:
        os.close(fd)
        os.unlink(path)


if __name__ == "__main__":
    main()
