# SPDX-License-Identifier: ISC
"""COMPRESS=DEFLATE (RFC 4978), UNAUTHENTICATE (RFC 8437) and the connection
limits of imapd (max-connections-per-ip, max-connections-per-user).

The client is written here on a raw socket, with Python's zlib doing raw
deflate (wbits=-15) both ways, so that every byte on the wire is checked:
over plain TCP and over implicit TLS it appends a large message through the
compressed stream, fetches it back and compares the bytes; a second COMPRESS
is refused; UNAUTHENTICATE ends compression (the server's stream ends with a
final block, the client's too) and a LOGIN as another user sees only that
user's mailboxes.  mbsync, a real client that turns COMPRESS on by itself,
syncs a folder through it.  The limits run on a server with two imapd processes, so
that storaged's counting across processes is what is tested.
"""
import os
import random
import re
import shutil
import socket
import ssl
import time
import unittest
import subprocess
import tempfile
import zlib

from bulwark import Server

ALICE = "alice@example.org"
BOB = "bob@example.org"
CAROL = "carol@example.org"
PASSWORD = "correct horse battery staple"
MBSYNC = shutil.which("mbsync")

MBSYNCRC = """\
IMAPAccount t
Host localhost
Port {port}
User {user}
Pass "{password}"
AuthMechs PLAIN
SSLType IMAPS
CertificateFile {cert}

IMAPStore remote
Account t

MaildirStore local
Path {dir}/mail/
Inbox {dir}/mail/INBOX

Channel c
Far :remote:
Near :local:
Patterns INBOX
Create Near
SyncState *
"""


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def big_message(size):
    """A message of about size bytes: text lines that compress, not to nothing."""
    rnd = random.Random(4978)
    words = ["mail", "server", "deflate", "window", "imap", "bulwark",
             "compress", "literal", "response", "zlib", "the", "of", "and"]
    lines = [b"From: Alice <alice@example.org>",
             b"To: Bob <bob@example.org>",
             b"Subject: a large message for COMPRESS",
             b"Message-ID: <compress-test@example.org>",
             b"Date: Wed, 25 Nov 2026 12:00:00 +0000",
             b""]
    n = sum(len(x) + 2 for x in lines)
    while n < size:
        line = " ".join(rnd.choice(words) for _ in range(12)) + \
            " %08x" % rnd.getrandbits(32)
        lines.append(line.encode())
        n += len(line) + 2
    return b"\r\n".join(lines) + b"\r\n"


class Client:
    """An IMAP client on a socket, with optional raw deflate both ways."""

    def __init__(self, port, tls=False):
        raw = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.sock = tls_context().wrap_socket(raw) if tls else raw
        self.buf = b""
        self.zin = None          # decompressobj while the server compresses
        self.zout = None         # compressobj while this end compresses
        self.wire_in = 0         # bytes read from the socket
        self.plain_in = 0        # bytes after decompression
        self.server_ended = False  # the server's deflate stream ended
        self.greeting = self.readline()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # --- bytes ---
    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.wire_in += len(data)
        if self.zin is not None:
            out = self.zin.decompress(data)
            self.plain_in += len(out)
            self.buf += out
            if self.zin.eof:
                # RFC 8437 4.1: what follows the final block is plain.
                self.server_ended = True
                self.buf += self.zin.unused_data
                self.zin = None
        else:
            self.plain_in += len(data)
            self.buf += data

    def send(self, data, finish=False):
        if self.zout is not None:
            data = self.zout.compress(data) + self.zout.flush(
                zlib.Z_FINISH if finish else zlib.Z_SYNC_FLUSH)
            if finish:
                self.zout = None
        self.sock.sendall(data)

    def readline(self):
        while b"\r\n" not in self.buf:
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_exact(self, n):
        while len(self.buf) < n:
            self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    # --- responses ---
    def response(self):
        """One response line with its literals: (line, [literal, ...])."""
        line = self.readline()
        literals = []
        while True:
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return line, literals
            literals.append(self.read_exact(int(m.group(1))))
            line += b"<lit>" + self.readline()

    def command(self, tag, text):
        """Sends a command; returns (untagged responses, tagged line)."""
        self.send(tag.encode() + b" " + text.encode() + b"\r\n")
        return self.collect(tag)

    def collect(self, tag):
        untagged = []
        while True:
            line, lits = self.response()
            if line.startswith(tag.encode() + b" "):
                return untagged, line
            untagged.append((line, lits))

    def login(self, tag, user):
        return self.command(tag, 'LOGIN "%s" "%s"' % (user, PASSWORD))[1]

    def compress(self, tag):
        _, tagged = self.command(tag, "COMPRESS DEFLATE")
        if tagged.startswith(tag.encode() + b" OK"):
            # RFC 4978 3: compressed right after the CRLF of the OK.
            assert self.buf == b"", self.buf
            self.zin = zlib.decompressobj(wbits=-15)
            self.zout = zlib.compressobj(wbits=-15)
        return tagged

    def append(self, tag, mailbox, msg):
        self.send(b"%s APPEND %s {%d}\r\n" % (tag.encode(), mailbox.encode(),
                                              len(msg)))
        line = self.readline()
        assert line.startswith(b"+"), line
        self.send(msg + b"\r\n")
        return self.collect(tag)[1]


class CompressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=2, cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(ALICE, PASSWORD)
            cls.srv.add_account(BOB, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def run_large_message(self, tls):
        port = self.srv.ports["imaps" if tls else "imap"]
        c = Client(port, tls=tls)
        try:
            self.assertIn(b"COMPRESS=DEFLATE", c.greeting)
            self.assertIn(b"UNAUTHENTICATE", c.greeting)
            # COMPRESS is a command of the authenticated state.
            self.assertTrue(c.compress("a0").startswith(b"a0 BAD"))
            self.assertIsNone(c.zin)
            self.assertTrue(c.login("a1", ALICE).startswith(b"a1 OK"))
            self.assertEqual(c.compress("a2"), b"a2 OK DEFLATE active")
            box = "Big" + ("TLS" if tls else "Plain")
            self.assertTrue(c.command("a3", "CREATE " + box)[1]
                            .startswith(b"a3 OK"))
            msg = big_message(600 * 1024)
            self.assertTrue(c.append("a4", box, msg).startswith(b"a4 OK"))
            untagged, tagged = c.command("a5", "SELECT " + box)
            self.assertTrue(tagged.startswith(b"a5 OK"), tagged)
            self.assertIn((b"* 1 EXISTS", []), untagged)
            before = c.wire_in, c.plain_in
            untagged, tagged = c.command("a6", "FETCH 1 (RFC822.SIZE BODY.PEEK[])")
            self.assertTrue(tagged.startswith(b"a6 OK"), tagged)
            fetched = [lits for line, lits in untagged if b" FETCH " in line]
            self.assertEqual(len(fetched), 1)
            self.assertEqual(fetched[0], [msg])
            self.assertIn(b"RFC822.SIZE %d" % len(msg), untagged[0][0])
            wire = c.wire_in - before[0]
            plain = c.plain_in - before[1]
            # The text compresses well: far fewer bytes on the wire.
            self.assertGreater(plain, len(msg))
            self.assertLess(wire, plain // 2)
            # A second COMPRESS, itself compressed, is refused.
            self.assertEqual(c.compress("a7"),
                             b"a7 NO [COMPRESSIONACTIVE] DEFLATE is already active")
            self.assertIsNotNone(c.zin)
            # Still working after the refusal.
            self.assertEqual(c.command("a8", "NOOP")[1], b"a8 OK NOOP completed")
            if not tls:
                # After 5 s without output the server frees its deflater;
                # the next one goes on with the same stream.
                self.srv.wait_log(r"compress idle deflater freed", timeout=10)
                untagged, tagged = c.command("a10", "FETCH 1 (RFC822.SIZE)")
                self.assertEqual(tagged, b"a10 OK FETCH completed")
                self.assertEqual(untagged, [(b"* 1 FETCH (RFC822.SIZE %d)" % len(msg), [])])
            untagged, tagged = c.command("a9", "LOGOUT")
            self.assertEqual(untagged[0][0], b"* BYE Logging out")
            self.assertTrue(tagged.startswith(b"a9 OK"))
        finally:
            c.close()
        self.srv.wait_log(r"imapd\[\d+\]: [0-9a-f]{16} disconnect reason=logout")

    def test_compress_plain_tcp(self):
        self.run_large_message(tls=False)

    def test_compress_over_tls(self):
        self.run_large_message(tls=True)

    def test_unauthenticate_then_other_user(self):
        c = Client(self.srv.ports["imaps"], tls=True)
        try:
            self.assertTrue(c.login("u1", ALICE).startswith(b"u1 OK"))
            self.assertTrue(c.command("u2", "CREATE AliceOnly")[1]
                            .startswith(b"u2 OK"))
            self.assertTrue(c.append("u3", "INBOX", big_message(2000))
                            .startswith(b"u3 OK"))
            self.assertEqual(c.compress("u4"), b"u4 OK DEFLATE active")
            untagged, tagged = c.command("u5", "SELECT INBOX")
            self.assertTrue(tagged.startswith(b"u5 OK"), tagged)
            # RFC 8437 4.1: compression ends after the OK, both ways;
            # LOGIN is pipelined behind the client's final block.
            c.send(b"u6 UNAUTHENTICATE\r\n", finish=True)
            c.send(b'u7 LOGIN "%s" "%s"\r\n' % (BOB.encode(), PASSWORD.encode()))
            untagged, tagged = c.collect("u6")
            self.assertEqual(tagged, b"u6 OK Completed, now in not authenticated state")
            self.assertEqual(untagged, [])
            untagged, tagged = c.collect("u7")
            self.assertTrue(c.server_ended)
            self.assertIsNone(c.zin)
            self.assertTrue(tagged.startswith(b"u7 OK"), tagged)
            # Bob's mailboxes only.
            untagged, tagged = c.command("u8", 'LIST "" "*"')
            self.assertTrue(tagged.startswith(b"u8 OK"))
            names = [line for line, _ in untagged]
            self.assertTrue(any(n.endswith(b"INBOX") for n in names), names)
            self.assertFalse(any(b"AliceOnly" in n for n in names), names)
            untagged, tagged = c.command("u9", "SELECT INBOX")
            self.assertTrue(tagged.startswith(b"u9 OK"))
            self.assertIn((b"* 0 EXISTS", []), untagged)
            # Compression may start again in the new session.
            self.assertEqual(c.compress("u10"), b"u10 OK DEFLATE active")
            self.assertEqual(c.command("u11", "NOOP")[1], b"u11 OK NOOP completed")
            # In the not authenticated state again, without compression;
            # this time the client's final block comes after the OK.
            c.send(b"u12 UNAUTHENTICATE\r\n")
            self.assertTrue(c.collect("u12")[1].startswith(b"u12 OK"))
            self.assertIsNone(c.zin)
            c.send(b"", finish=True)
            self.assertTrue(c.command("u13", "SELECT INBOX")[1]
                            .startswith(b"u13 BAD"))
            self.assertTrue(c.command("u14", "UNAUTHENTICATE")[1]
                            .startswith(b"u14 BAD"))
            self.assertTrue(c.login("u15", ALICE).startswith(b"u15 OK"))
            untagged, tagged = c.command("u16", "SELECT INBOX")
            self.assertIn((b"* 1 EXISTS", []), untagged)
        finally:
            c.close()
        self.srv.wait_log(r"unauthenticate user=alice@example\.org")
        self.srv.wait_log(r"unauthenticate user=bob@example\.org")

    def test_compress_arguments(self):
        c = Client(self.srv.ports["imap"])
        try:
            self.assertTrue(c.login("k1", ALICE).startswith(b"k1 OK"))
            self.assertEqual(c.command("k2", "COMPRESS GZIP")[1],
                             b"k2 BAD Unknown compression algorithm")
            self.assertTrue(c.command("k3", "COMPRESS")[1].startswith(b"k3 BAD"))
            self.assertEqual(c.compress("k4"), b"k4 OK DEFLATE active")
            # The client ends its stream without UNAUTHENTICATE: the
            # command in it is answered, what follows in clear is not.
            c.send(b"k5 NOOP\r\n", finish=True)
            self.assertEqual(c.collect("k5")[1], b"k5 OK NOOP completed")
            c.sock.sendall(b"k6 NOOP\r\n")
            with self.assertRaises((EOFError, ConnectionResetError)):
                c.readline()
        finally:
            c.close()
        self.srv.wait_log(r"disconnect reason=compress-error error=data_after_the_end")

    def test_garbage_when_compressed_closes(self):
        c = Client(self.srv.ports["imap"])
        try:
            self.assertTrue(c.login("g1", ALICE).startswith(b"g1 OK"))
            self.assertEqual(c.compress("g2"), b"g2 OK DEFLATE active")
            # A stored block whose length check fails (RFC 1951 3.2.4).
            c.sock.sendall(b"\x00\x05\x00\x00\x00hello")
            with self.assertRaises((EOFError, ConnectionResetError)):
                c.readline()
        finally:
            c.close()
        self.srv.wait_log(r"disconnect reason=compress-error "
                          r"error=invalid_stored_block_lengths")


    @unittest.skipIf(MBSYNC is None, "mbsync (isync) is not installed")
    def test_mbsync_uses_compress(self):
        """A real client: mbsync (isync 1.4) turns COMPRESS on by itself."""
        user = "sync@example.org"
        self.srv.add_account(user, PASSWORD)
        c = Client(self.srv.ports["imaps"], tls=True)
        msgs = []
        try:
            self.assertTrue(c.login("s1", user).startswith(b"s1 OK"))
            for i in range(4):
                msg = big_message(30000 + 1000 * i).replace(
                    b"compress-test@", b"sync-%d@" % i)
                msgs.append(msg)
                self.assertTrue(c.append("s%d" % (i + 2), "INBOX", msg)
                                .startswith(b"s%d OK" % (i + 2)))
        finally:
            c.close()
        d = tempfile.mkdtemp(prefix="bulwark-mbsync.")
        try:
            os.makedirs(os.path.join(d, "mail"))
            rc = os.path.join(d, "mbsyncrc")
            with open(rc, "w") as f:
                f.write(MBSYNCRC.format(port=self.srv.ports["imaps"], user=user,
                                        password=PASSWORD, cert=self.srv.cert,
                                        dir=d))
            start = len(self.srv.log())
            r = subprocess.run([MBSYNC, "-c", rc, "c"], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            got = []
            for sub in ("cur", "new"):
                p = os.path.join(d, "mail", "INBOX", sub)
                for name in os.listdir(p):
                    with open(os.path.join(p, name), "rb") as f:
                        # mbsync marks what it stores with X-TUID.
                        got.append(re.sub(rb"(?m)^X-TUID: .*\n", b"", f.read()))
            self.assertEqual(sorted(got),
                             sorted(m.replace(b"\r\n", b"\n") for m in msgs))
            m = self.srv.wait_log(r"([0-9a-f]{16}) compress start", start=start)
            end = self.srv.wait_log(m.group(1) + r" compress end in=\d+/\d+ "
                                    r"out=(\d+)/(\d+)", start=start)
            self.assertLess(int(end.group(1)) * 2, int(end.group(2)))
        finally:
            shutil.rmtree(d, ignore_errors=True)


class LimitTest(unittest.TestCase):
    PER_IP = 6
    PER_USER = 3

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=2, cleartext="yes")
        with open(cls.srv.conf) as f:
            conf = f.read()
        conf = conf.replace("imap {\n", "imap {\n\tmax-connections-per-ip %d\n"
                            "\tmax-connections-per-user %d\n"
                            % (cls.PER_IP, cls.PER_USER), 1)
        with open(cls.srv.conf, "w") as f:
            f.write(conf)
        try:
            cls.srv.start()
            for user in (ALICE, BOB, CAROL):
                cls.srv.add_account(user, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def retry(self, fn, want, timeout=10):
        """Calls fn until it returns something that starts with want
        (closing a connection reaches storaged a moment later)."""
        deadline = time.time() + timeout
        while True:
            got = fn()
            if got.startswith(want) or time.time() > deadline:
                return got
            time.sleep(0.1)

    def test_limits(self):
        port = self.srv.ports["imap"]
        conns = []
        try:
            # Per user: PER_USER sessions of alice across both processes.
            for i in range(self.PER_USER):
                c = Client(port)
                conns.append(c)
                self.assertTrue(c.greeting.startswith(b"* OK"), c.greeting)
                self.assertTrue(c.login("l%d" % i, ALICE).startswith(b"l%d OK" % i))
            extra = Client(port)
            conns.append(extra)
            self.assertEqual(extra.login("x1", ALICE),
                             b"x1 NO [LIMIT] Too many connections for this user")
            self.srv.wait_log(r"storaged\[\d+\]: auth refused user=alice@example\.org "
                              r"remote=127\.0\.0\.1 proto=imap limit=3")
            # Another user is not affected.
            bob = Client(port)
            conns.append(bob)
            self.assertTrue(bob.login("b1", BOB).startswith(b"b1 OK"))
            # UNAUTHENTICATE gives alice's place back.
            first = conns[0]
            self.assertTrue(first.command("l9", "UNAUTHENTICATE")[1]
                            .startswith(b"l9 OK"))
            self.assertTrue(self.retry(lambda: extra.login("x2", ALICE), b"x2 OK")
                            .startswith(b"x2 OK"))
            # Per address: PER_IP connections are open now (the one
            # unauthenticated included); the next is refused at once.
            while len(conns) < self.PER_IP:
                conns.append(Client(port))
            refused = Client(self.srv.ports["imaps"], tls=True)
            self.assertEqual(refused.greeting,
                             b"* BYE [LIMIT] Too many connections from your address")
            with self.assertRaises(EOFError):
                refused.readline()
            refused.close()
            self.srv.wait_log(r"storaged\[\d+\]: session refused remote=127\.0\.0\.1 "
                              r"proto=imap limit=6")
            self.srv.wait_log(r"disconnect reason=connection-limit")
            # Closing one lets the next in.
            conns.pop().close()

            def attempt():
                c = Client(port)
                if c.greeting.startswith(b"* OK"):
                    conns.append(c)
                else:
                    c.close()
                return c.greeting
            self.assertTrue(self.retry(attempt, b"* OK").startswith(b"* OK"))
            # A login on it works; carol has no session yet.
            self.assertTrue(conns[-1].login("c1", CAROL).startswith(b"c1 OK"))
        finally:
            for c in conns:
                c.close()


if __name__ == "__main__":
    unittest.main()
