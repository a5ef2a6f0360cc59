#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Runs the integration tests (tests/integration/test_*.py) with unittest.

Prints one line per test, the slowest tests with their seconds (setUpClass
counts for a class's first test), and ends with `N passed, N failed, N
skipped`.  The log of the server of every failed test is printed with it
(the tests attach it to their failure message).  usage: run.py [BUILD_DIR]
[pattern]
"""
import os
import sys
import time
import unittest

SLOWEST = 15


class TimedResult(unittest.TextTestResult):
    """Notes each test's seconds, from the end of the one before it, so that
    a class's setUpClass is counted too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seconds = []
        self.mark = time.monotonic()

    def stopTest(self, test):
        super().stopTest(test)
        now = time.monotonic()
        self.seconds.append((now - self.mark, test.id()))
        self.mark = now

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if len(sys.argv) > 1:
        os.environ["BULWARK_BUILD"] = sys.argv[1]
    build = os.environ.get("BULWARK_BUILD", "build/rel")
    logs = os.path.join(os.path.dirname(os.path.dirname(HERE)), build, "test-logs")
    os.environ["BULWARK_TESTLOGS"] = logs
    pattern = sys.argv[2] if len(sys.argv) > 2 else "test_*.py"
    sys.path.insert(0, HERE)
    os.chdir(os.path.dirname(os.path.dirname(HERE)))
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern, top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout,
                                     resultclass=TimedResult)
    r = runner.run(suite)
    print("slowest tests:")
    for seconds, name in sorted(r.seconds, reverse=True)[:SLOWEST]:
        print("  %7.1f s  %s" % (seconds, name))
    for test, _ in r.failures + r.errors:
        path = os.path.join(logs, test.id() + ".log")
        if os.path.exists(path):
            print("----- server log of %s -----" % test.id())
            with open(path, errors="replace") as f:
                sys.stdout.write(f.read())
    failed = len(r.failures) + len(r.errors) + len(r.unexpectedSuccesses)
    skipped = len(r.skipped)
    passed = r.testsRun - failed - skipped
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
