# SPDX-License-Identifier: ISC
"""DKIM keys and signatures made by `bulwarkctl dkim`, checked by dkimpy.

`bulwarkctl dkim keygen` makes an RSA and an Ed25519 key in a temporary
directory and prints their DNS records; `bulwarkctl dkim sign` signs messages
of the shared mail corpus (read in place: CRLF, bare LF and mixed line ends,
multipart, a 135 KB folded header field), and Debian's python3-dkim (dkimpy),
an independent implementation, verifies every signature with the record
keygen printed as the DNS answer.  Changing the body, the Subject, or adding
a From must make verification fail.  These commands need no server: the
binary is run directly.
"""
import os
import re
import stat
import subprocess
import tempfile
import unittest

import bulwark

try:
    import dkim
except ImportError:         # python3-dkim; contrib/install-deps.sh has it
    dkim = None

CORPUS = os.path.join(bulwark.TOP, "..", "shared", "mail-corpus")
MESSAGES = [
    "0130-mimekit-simple.eml",                  # CRLF, one part
    "0164-rubymail-attachment_content_disposition.eml",  # CRLF, attachment
    # CRLF, multipart, a 3 KB Autocrypt field folded 42 times
    "0417-thunderbird-signed-by-0x3099ff1238852b9f-encrypted-to-0xf231.eml",
    "0449-thunderbird-multipart-alternative.eml",   # CRLF and bare LF mixed
    "0095-mimekit-bounce.eml",                  # bare LF, multipart report
    "1315-stalwart-thirdparty-015.eml",         # bare LF, an 8 KB field
    "0116-mimekit-stack-overflow.eml",          # bare LF, a 135 KB field
]
DOMAIN = "example.org"
ZONE_LINE = re.compile(r'^(\S+)\._domainkey\.(\S+)\. IN TXT((?: "[^"]*")+)\n$')


def ctl(*args, data=None):
    return subprocess.run([bulwark.binary("bulwarkctl")] + list(args),
                          input=data, capture_output=True, timeout=60)


def parse_record(out):
    """Returns (selector, domain, joined TXT value) of a zone line."""
    m = ZONE_LINE.match(out.decode())
    if m is None:
        raise AssertionError("not a zone line: %r" % out)
    strings = re.findall(r'"([^"]*)"', m.group(3))
    for s in strings:
        if len(s) > 255:
            raise AssertionError("TXT string of %d bytes" % len(s))
    return m.group(1), m.group(2), "".join(strings).encode()


@unittest.skipIf(dkim is None, "python3-dkim is not installed")
class DkimTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.keys = {}
        for kind, sel in (("rsa", "r2024"), ("ed25519", "e2024")):
            path = os.path.join(cls.tmp.name, kind + ".key")
            p = ctl("dkim", "keygen", "-t", kind, DOMAIN, sel, path)
            if p.returncode != 0:
                raise AssertionError("keygen %s: %r" % (kind, p.stderr))
            cls.keys[kind] = (path, sel, p.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def dns(self, kind):
        """A dnsfunc for dkimpy that knows only this key's name."""
        _, sel, out = self.keys[kind]
        s, d, value = parse_record(out)
        want = ("%s._domainkey.%s." % (sel, DOMAIN)).encode()

        def lookup(name, timeout=5):
            self.assertEqual(name, want)
            return value
        return lookup

    def sign(self, kind, msg, domain=DOMAIN):
        path, sel, _ = self.keys[kind]
        p = ctl("dkim", "sign", path, domain, sel, data=msg)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def verify(self, kind, signed):
        return dkim.verify(signed, dnsfunc=self.dns(kind))

    def test_keygen(self):
        for kind, (path, sel, out) in self.keys.items():
            s, d, value = parse_record(out)
            self.assertEqual((s, d), (sel, DOMAIN))
            self.assertTrue(value.startswith(b"v=DKIM1; k=%s; p=" %
                                             kind.encode()), value)
            st = os.stat(path)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
            with open(path, "rb") as f:
                pem = f.read()
            self.assertTrue(pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"))
            # record prints what keygen printed.
            p = ctl("dkim", "record", path, DOMAIN, sel)
            self.assertEqual((p.returncode, p.stdout), (0, out))
            # A key is never overwritten.
            p = ctl("dkim", "keygen", "-t", kind, DOMAIN, sel, path)
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"File exists", p.stderr)
            self.assertEqual(p.stdout, b"")
            with open(path, "rb") as f:
                self.assertEqual(f.read(), pem)
        # 2048-bit RSA: two TXT strings; Ed25519: one of 44 base64 bytes.
        self.assertEqual(self.keys["rsa"][2].count(b'"'), 4)
        self.assertEqual(self.keys["ed25519"][2].count(b'"'), 2)
        self.assertEqual(len(parse_record(self.keys["ed25519"][2])[2]),
                         len(b"v=DKIM1; k=ed25519; p=") + 44)

    def test_corpus_verifies(self):
        for name in MESSAGES:
            with open(os.path.join(CORPUS, name), "rb") as f:
                msg = f.read()
            for kind in self.keys:
                with self.subTest(message=name, key=kind):
                    signed = self.sign(kind, msg)
                    self.assertTrue(signed.startswith(b"DKIM-Signature: v=1;"))
                    # The message follows unchanged.
                    self.assertTrue(signed.endswith(msg))
                    header = signed[:len(signed) - len(msg)]
                    # Written with the line end of the first line.
                    lf = msg.index(b"\n")
                    nl = b"\r\n" if msg[lf - 1:lf] == b"\r" else b"\n"
                    lines = header.split(nl)
                    self.assertEqual(lines[-1], b"")
                    for line in lines[:-1]:
                        self.assertLessEqual(len(line), 78, line)
                        self.assertNotIn(b"\r", line)
                        self.assertNotIn(b"\n", line)
                    self.assertTrue(self.verify(kind, signed))

    def test_tampering_fails(self):
        with open(os.path.join(CORPUS, MESSAGES[0]), "rb") as f:
            msg = f.read()
        self.assertIn(b"\r\nSubject: ", msg)
        for kind in self.keys:
            with self.subTest(key=kind):
                signed = self.sign(kind, msg)
                self.assertTrue(self.verify(kind, signed))
                head, body = signed.split(b"\r\n\r\n", 1)
                # One byte of the body.
                tampered = head + b"\r\n\r\n" + body.replace(b"e", b"a", 1)
                self.assertNotEqual(tampered, signed)
                self.assertFalse(self.verify(kind, tampered))
                # The Subject.
                tampered = signed.replace(b"\r\nSubject: ",
                                          b"\r\nSubject: Re: ", 1)
                self.assertFalse(self.verify(kind, tampered))
                # A second From, added after signing (oversigned).
                tampered = head + b"\r\nFrom: mallory@example.net" + \
                    b"\r\n\r\n" + body
                self.assertFalse(self.verify(kind, tampered))
                # What relaxed canonicalization allows still verifies.
                relaxed = signed.replace(b"\r\nSubject: ",
                                         b"\r\nSUBJECT:   ", 1)
                self.assertTrue(self.verify(kind, relaxed))

    def test_refusals(self):
        path, sel, _ = self.keys["ed25519"]
        p = ctl("dkim", "sign", path, DOMAIN, sel,
                data=b"Subject: no author\r\n\r\nhi\r\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no From field", p.stderr)
        self.assertEqual(p.stdout, b"")
        p = ctl("dkim", "sign", path, DOMAIN, "bad_selector",
                data=b"From: a@example.org\r\n\r\nhi\r\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"not a host name", p.stderr)
        p = ctl("dkim", "record", os.path.join(self.tmp.name, "none"),
                DOMAIN, sel)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"No such file", p.stderr)
        notkey = os.path.join(self.tmp.name, "notkey")
        with open(notkey, "w") as f:
            f.write("hello\n")
        p = ctl("dkim", "record", notkey, DOMAIN, sel)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no private key", p.stderr)
        p = ctl("dkim", "keygen", "-t", "dsa", DOMAIN, sel)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"not a key type", p.stderr)

    def test_openssl_key(self):
        """A key made by openssl(1), as an admin might, signs too."""
        path = os.path.join(self.tmp.name, "openssl.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                        "-pkeyopt", "rsa_keygen_bits:1024", "-out", path],
                       check=True, capture_output=True)
        p = ctl("dkim", "record", path, DOMAIN, "o1")
        self.assertEqual(p.returncode, 0, p.stderr)
        _, _, value = parse_record(p.stdout)
        msg = b"From: a@example.org\r\nTo: b@example.net\r\n\r\nhi\r\n"
        p = ctl("dkim", "sign", path, DOMAIN, "o1", data=msg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(dkim.verify(p.stdout,
                                    dnsfunc=lambda n, timeout=5: value))


if __name__ == "__main__":
    unittest.main()
