# SPDX-License-Identifier: ISC
"""jmapd: the upload and download resources of JMAP (RFC 8620 6.1, 6.2),
against the real bulwarkd, with Python's http.client and curl.

Uploads of several sizes (a body spilled to a memfd as it arrives, in
Content-Length and chunked form) come back byte for byte with the blobId
that is their BLAKE2b; an email's raw message downloads as IMAP's
BODY.PEEK[] shows it; names and types of the download URL; and what is
refused: another account's blobs, a body over maxSizeUpload (before it is
sent), no credentials.
"""
import base64
import hashlib
import http.client
import imaplib
import json
import os
import shutil
import smtplib
import subprocess
import unittest
import urllib.parse

from bulwark import Server

USER = "blob@example.org"
OTHER = "other-blob@example.org"
PASSWORD = "blob test password"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
CURL = shutil.which("curl")


def basic(user=USER):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, PASSWORD)).encode()).decode()


class JmapBlobTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(None, imap_workers=1, http_workers=1, lmtp_workers=1,
                         cleartext="yes")
        try:
            cls.srv.start()
            cls.srv.add_account(USER, PASSWORD)
            cls.srv.add_account(OTHER, PASSWORD)
        except Exception:
            cls.srv.cleanup()
            raise
        cls.account = cls.session()["primaryAccounts"][MAIL]
        cls.other = cls.session(OTHER)["primaryAccounts"][MAIL]

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    @classmethod
    def conn(cls):
        return http.client.HTTPConnection("127.0.0.1", cls.srv.ports["http"],
                                          timeout=60)

    @classmethod
    def session(cls, user=USER):
        c = cls.conn()
        c.request("GET", "/jmap/session", headers={"Authorization": basic(user)})
        return json.loads(c.getresponse().read())

    def upload(self, data, ctype="application/octet-stream", user=USER,
               account=None, chunked=False):
        c = self.conn()
        h = {"Authorization": basic(user), "Content-Type": ctype}
        url = "/jmap/upload/%s/" % (account or self.account)
        if chunked:
            def gen():
                for i in range(0, len(data), 65536):
                    yield data[i:i + 65536]
            c.request("POST", url, body=gen(), headers=h,
                      encode_chunked=True)
        else:
            c.request("POST", url, body=data, headers=h)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, json.loads(body) if body else None

    def download(self, blob, name="x.bin", accept=None, user=USER,
                 account=None, method="GET"):
        c = self.conn()
        url = "/jmap/download/%s/%s/%s" % (account or self.account, blob,
                                            urllib.parse.quote(name))
        if accept:
            url += "?accept=" + urllib.parse.quote(accept, safe="")
        c.request(method, url, headers={"Authorization": basic(user)})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r, body

    def blob_id(self, data):
        return "G" + hashlib.blake2b(data, digest_size=32).hexdigest()

    def test_upload_and_download(self):
        for size in (0, 1, 1000, 300 * 1024, 5 * 1024 * 1024 + 7):
            data = os.urandom(size)
            for chunked in (False, True):
                r, res = self.upload(data, "application/x-test",
                                     chunked=chunked)
                self.assertEqual(r.status, 201, (size, chunked, res))
                self.assertEqual(res["accountId"], self.account)
                self.assertEqual(res["blobId"], self.blob_id(data))
                self.assertEqual(res["size"], size)
                self.assertEqual(res["type"], "application/x-test")
            r, body = self.download(res["blobId"])
            self.assertEqual(r.status, 200, size)
            self.assertEqual(body, data, size)
            self.assertEqual(r.getheader("Content-Type"), "application/x-test")
            self.assertEqual(int(r.getheader("Content-Length")), size)

    def test_names_and_types(self):
        data = b"hello, world\n"
        r, res = self.upload(data, "text/plain; charset=us-ascii")
        blob = res["blobId"]
        r, body = self.download(blob, "r\u00e9sum\u00e9 \"1\".txt",
                                accept="text/plain")
        self.assertEqual(body, data)
        self.assertEqual(r.getheader("Content-Type"), "text/plain")
        cd = r.getheader("Content-Disposition")
        self.assertIn('filename="r__sum__ _1_.txt"', cd)
        self.assertIn("filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.txt", cd)
        self.assertIn("immutable", r.getheader("Cache-Control"))
        # HEAD: the fields, no content.
        r, body = self.download(blob, "a.txt", method="HEAD")
        self.assertEqual((r.status, body), (200, b""))
        self.assertEqual(int(r.getheader("Content-Length")), len(data))
        # A type that cannot go in a header field as it is.
        r, body = self.download(blob, "a.txt", accept="text/plain\r\nX: y")
        self.assertEqual(r.status, 400)

    def test_email_blob_is_the_raw_message(self):
        msg = ("From: a@example.net\r\nTo: %s\r\nSubject: raw\r\n"
               "Message-ID: <raw-blob@example.net>\r\n\r\nthe body\r\n" % USER)
        lmtp = smtplib.LMTP(self.srv.lmtp_socket, timeout=30)
        lmtp.sendmail("a@example.net", [USER], msg)
        lmtp.quit()
        c = self.conn()
        c.request("POST", "/jmap/api/", json.dumps({
            "using": [CORE, MAIL], "methodCalls": [
                ["Email/query", {"accountId": self.account,
                                 "filter": {"subject": "raw"}}, "q"],
                ["Email/get", {"accountId": self.account,
                               "#ids": {"resultOf": "q", "name": "Email/query",
                                        "path": "/ids"},
                               "properties": ["blobId", "size"]}, "g"]]}),
            {"Authorization": basic(), "Content-Type": "application/json"})
        res = json.loads(c.getresponse().read())["methodResponses"]
        (email,) = res[1][1]["list"]
        r, body = self.download(email["blobId"], "m.eml")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "message/rfc822")
        self.assertEqual(len(body), email["size"])
        imap = imaplib.IMAP4("127.0.0.1", self.srv.ports["imap"], timeout=20)
        imap.login(USER, PASSWORD)
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "SUBJECT", "raw")
        typ, data = imap.fetch(data[0].split()[-1], "(BODY.PEEK[])")
        imap.logout()
        self.assertEqual(body, data[0][1])
        # Another account does not see it, even knowing its id.
        r, body = self.download(email["blobId"], "m.eml", user=OTHER,
                                account=self.other)
        self.assertEqual(r.status, 404)

    def test_other_accounts_uploads(self):
        data = b"mine only"
        r, res = self.upload(data)
        r, body = self.download(res["blobId"], user=OTHER, account=self.other)
        self.assertEqual(r.status, 404)
        # The same bytes uploaded there are that account's own upload.
        r, res2 = self.upload(data, user=OTHER, account=self.other)
        self.assertEqual(res2["blobId"], res["blobId"])
        r, body = self.download(res["blobId"], user=OTHER, account=self.other)
        self.assertEqual(body, data)
        # Another account's URL, with this account's credentials.
        r, res = self.upload(b"x", account=self.other)
        self.assertEqual(r.status, 404)
        r, body = self.download(res2["blobId"], account=self.other)
        self.assertEqual(r.status, 404)

    def test_refusals(self):
        # Over maxSizeUpload: 413 from the head, the body is never sent.
        limit = self.session()["capabilities"][CORE]["maxSizeUpload"]
        c = self.conn()
        c.putrequest("POST", "/jmap/upload/%s/" % self.account)
        c.putheader("Authorization", basic())
        c.putheader("Content-Length", str(limit + 1))
        c.endheaders()
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        c.close()
        # No credentials.
        c = self.conn()
        c.request("POST", "/jmap/upload/%s/" % self.account, body=b"x")
        self.assertEqual(c.getresponse().status, 401)
        c.close()
        c = self.conn()
        c.request("GET", "/jmap/download/%s/Gab/x" % self.account)
        self.assertEqual(c.getresponse().status, 401)
        c.close()
        # Malformed or unknown blob ids; a path without a name.
        for blob in ("Gab", "G" + "0" * 64, "E0", "Efffffff", "Bx"):
            r, body = self.download(blob)
            self.assertEqual(r.status, 404, blob)
        r, body = self.download("G" + "0" * 64, name="")
        self.assertEqual(r.status, 404)
        # GET on the upload resource.
        c = self.conn()
        c.request("GET", "/jmap/upload/%s/" % self.account,
                  headers={"Authorization": basic()})
        self.assertEqual(c.getresponse().status, 405)

    @unittest.skipUnless(CURL, "curl not installed")
    def test_curl_round_trip(self):
        src = os.path.join(self.srv.dir, "curl-up.bin")
        dst = os.path.join(self.srv.dir, "curl-down.bin")
        data = os.urandom(2 * 1024 * 1024)
        with open(src, "wb") as f:
            f.write(data)
        base = "http://127.0.0.1:%d" % self.srv.ports["http"]
        out = subprocess.run(
            [CURL, "-sS", "--fail", "-u", "%s:%s" % (USER, PASSWORD),
             "-H", "Content-Type: image/png", "--data-binary", "@" + src,
             base + "/jmap/upload/%s/" % self.account],
            capture_output=True, timeout=60, check=True)
        res = json.loads(out.stdout)
        self.assertEqual(res["blobId"], self.blob_id(data))
        subprocess.run(
            [CURL, "-sS", "--fail", "-u", "%s:%s" % (USER, PASSWORD),
             "-o", dst, base + "/jmap/download/%s/%s/p.png" % (
                 self.account, res["blobId"])],
            capture_output=True, timeout=60, check=True)
        with open(dst, "rb") as f:
            self.assertEqual(f.read(), data)


if __name__ == "__main__":
    unittest.main()
