# SPDX-License-Identifier: ISC
"""FETCH ENVELOPE, BODY and BODYSTRUCTURE as imapd renders them
(workers/imapd/imap_struct.c, through tests/tools/imap_struct_dump) against
Dovecot's imapd, for every message of /work/shared/mail-corpus.

Dovecot (Debian's dovecot-imapd) runs on a loopback port with its own
configuration in a temporary directory: static passdb and userdb, Maildir,
plaintext login allowed.  Every message is APPENDed with imaplib, which
sends line endings as CRLF, so the dump tool is given the same CRLF bytes
Dovecot stores (prefix 0).  Both answers are parsed into values (strings,
NIL, numbers, lists), so a string sent quoted by one and as a literal by
the other still matches; the count of byte-identical answers is printed too.

Each message whose values differ must be listed in KNOWN with the reason,
and the reason is checked: every reason has a normalisation that removes
exactly the difference it explains (decoding RFC 2047 words, folding case,
...), and after it both answers must be equal.  A listed message that now
matches exactly fails the test too, so the table stays true.

Set BULWARK_STRUCT_DIFFS=dir to have each differing pair written there.
"""
import base64
import binascii
import imaplib
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from bulwark import BUILD, TOP, free_port

CORPUS = "/work/shared/mail-corpus"
DOVECOT = "/usr/sbin/dovecot"
DUMP = os.path.join(TOP, BUILD, "tests", "tools", "imap_struct_dump")
# What imaplib.IMAP4.append does to the message before sending it.
CRLF_RE = re.compile(rb"\r\n|\r(?!\n)|\n")
ITEMS = ("ENVELOPE", "BODY", "BODYSTRUCTURE")

CONF = """\
# written by tests/integration/test_imap_struct_dovecot.py
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
instance_name = bulwark-struct-{port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
{users}
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
mail_location = maildir:{d}/mail/%u/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


# --- A reader of IMAP response values (RFC 9051 9) ---

class Nil:
    def __repr__(self):
        return "NIL"


NIL = Nil()


def parse_values(data, i=0, end=b")"):
    """Reads values from data at i up to the closing byte; returns (list, i)."""
    out = []
    n = len(data)
    while i < n:
        c = data[i:i + 1]
        if c == b" ":
            i += 1
        elif c == end:
            return out, i + 1
        elif c == b"(":
            v, i = parse_values(data, i + 1)
            out.append(v)
        elif c == b'"':
            j = i + 1
            s = bytearray()
            while data[j:j + 1] != b'"':
                if data[j:j + 1] == b"\\":
                    j += 1
                s += data[j:j + 1]
                j += 1
            out.append(bytes(s))
            i = j + 1
        elif c == b"{":
            j = data.index(b"}", i)
            size = int(data[i + 1:j])
            j += 3  # "}\r\n"
            out.append(bytes(data[j:j + size]))
            i = j + size
        else:
            m = re.compile(rb"[^ ()\"{]+").match(data, i)
            tok = m.group(0)
            if tok.upper() == b"NIL":
                out.append(NIL)
            elif tok.isdigit():
                out.append(int(tok))
            else:
                out.append(tok)
            i = m.end()
    return out, i


def items(data):
    """The FETCH items of "ENVELOPE v BODY v ..." as a dict name -> value."""
    vals, _ = parse_values(data, 0, end=None)
    return {vals[k].decode().upper(): vals[k + 1] for k in range(0, len(vals), 2)}


def fetch_raw(typ_data):
    """Rebuilds the bytes of one FETCH response from imaplib's pieces."""
    raw = b""
    for piece in typ_data:
        if isinstance(piece, tuple):
            raw += piece[0] + b"\r\n" + piece[1]
        else:
            raw += piece
    m = re.match(rb"\d+ \(", raw)
    raw = raw[m.end():]
    m = re.match(rb"UID \d+ ", raw)
    if m:
        raw = raw[m.end():]
    assert raw.endswith(b")"), raw[-40:]
    raw = raw[:-1]
    m = re.search(rb" UID \d+$", raw)
    if m:
        raw = raw[:m.start()]
    return raw


# --- Normalisations, one per known reason ---
#
# Each takes both answers (dicts of item -> value) and returns them with the
# one kind of difference it explains removed; nothing else may change.

WORD_RE = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def decode_words(s):
    """RFC 2047 decoding of bytes s (white space between words dropped)."""
    s = re.sub(rb"(\?=)\s+(?==\?)", rb"\1", s)

    def word(m):
        cs = m.group(1).decode("ascii", "replace").split("*")[0]
        enc, text = m.group(2), m.group(3)
        try:
            if enc in b"bB":
                raw = base64.b64decode(text + b"=" * (-len(text) % 4))
            else:
                raw = re.sub(rb"=([0-9A-Fa-f]{2})",
                             lambda h: binascii.unhexlify(h.group(1)),
                             text.replace(b"_", b" "))
            return raw.decode(cs, "replace").encode("utf-8")
        except (LookupError, ValueError, binascii.Error):
            return m.group(0)
    return WORD_RE.sub(word, s)


def strings(v, f):
    """v with f applied to every string in it."""
    if isinstance(v, list):
        return [strings(x, f) for x in v]
    return f(v) if isinstance(v, bytes) else v


def envelopes(v, f):
    """Applies f to every envelope inside body structure v."""
    if not isinstance(v, list) or not v:
        return v
    if isinstance(v[0], list):  # multipart
        return [envelopes(x, f) for x in v]
    if len(v) > 9 and isinstance(v[7], list) and len(v[7]) == 10:
        v = list(v)
        v[7], v[8] = f(v[7]), envelopes(v[8], f)
    return v


def bodies(v, f):
    """Applies f to every body (1part and multipart) of structure v."""
    if not isinstance(v, list) or not v:
        return v
    if isinstance(v[0], list):
        k = 0
        while k < len(v) and isinstance(v[k], list):
            k += 1
        return f([bodies(x, f) for x in v[:k]] + v[k:])
    if len(v) > 9 and isinstance(v[7], list) and len(v[7]) == 10:
        v = list(v)
        v[8] = bodies(v[8], f)
    return f(v)


def pair(fn):
    """A normalisation applied alike to both answers."""
    def both(theirs, ours):
        return ({k: fn(k, v) for k, v in theirs.items()},
                {k: fn(k, v) for k, v in ours.items()})
    return both


def each_envelope(f):
    def fn(item, v):
        return f(v) if item == "ENVELOPE" else envelopes(v, f)
    return fn


def env_text(f):
    """f on the subject and the address names of an envelope."""
    def g(env):
        env = list(env)
        if isinstance(env[1], bytes):
            env[1] = f(env[1])
        for k in range(2, 8):
            if isinstance(env[k], list):
                env[k] = [[f(a[0]) if isinstance(a[0], bytes) else a[0]] + a[1:]
                          for a in env[k]]
        return env
    return g


def ws(s):
    return re.sub(rb"[ \t]+", b" ", s).strip(b" ")


def norm_ws(item, v):
    """White space collapsed and trimmed in envelope strings."""
    return each_envelope(lambda env: strings(env, ws))(item, v)


def norm_words(item, v):
    """Encoded words decoded in names, subjects and descriptions."""
    def desc(b):
        if isinstance(b[0], bytes) and len(b) > 4 and isinstance(b[4], bytes):
            b = list(b)
            b[4] = ws(decode_words(b[4]))
        return b
    v = each_envelope(env_text(lambda s: ws(decode_words(s))))(item, v)
    return v if item == "ENVELOPE" else bodies(v, desc)


def lower_fields(b):
    b = list(b)
    if isinstance(b[0], bytes):  # 1part: type, subtype, encoding
        for k in (0, 1, 5):
            if isinstance(b[k], bytes):
                b[k] = b[k].lower()
        first = 7
    else:  # multipart: the subtype after the parts
        k = 0
        while isinstance(b[k], list):
            k += 1
        b[k] = b[k].lower()
        first = k + 1
    if isinstance(b[0], bytes) and isinstance(b[2], list):
        b[2] = [x.lower() if x.lower() == b"us-ascii" else x for x in b[2]]
    for k in range(first, len(b)):  # body-fld-dsp: (string params-or-NIL)
        x = b[k]
        if isinstance(x, list) and len(x) == 2 and isinstance(x[0], bytes) \
                and (isinstance(x[1], list) or x[1] is NIL):
            b[k] = [x[0].lower(), x[1]]
    return b


def norm_case(item, v):
    """type, subtype, encoding and disposition compared without case."""
    return v if item == "ENVELOPE" else bodies(v, lower_fields)


def decode_2231(name, value):
    if name.endswith(b"*") and value.count(b"'") >= 2:
        cs, _, rest = value.split(b"'", 2)
        text = urllib.parse.unquote_to_bytes(rest)
        try:
            text = text.decode(cs.decode() or "us-ascii", "replace").encode()
        except LookupError:
            pass
        return name[:-1], text
    return name, value


def params(v):
    if isinstance(v, list) and v and len(v) % 2 == 0 and \
            all(isinstance(x, bytes) for x in v):
        out = []
        for k in range(0, len(v), 2):
            name, value = decode_2231(v[k].lower(), v[k + 1])
            out += [name, decode_words(value)]
        return out
    if isinstance(v, list):
        return [params(x) for x in v]
    return v


def norm_params(item, v):
    """Parameter values with RFC 2231 and RFC 2047 encodings decoded."""
    return v if item == "ENVELOPE" else params(v)


def walk_pair(a, b, f):
    """Walks equal-shaped bodies a (Dovecot's) and b (ours); f(a, b) -> b."""
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        b = f(a, b)
        return [walk_pair(x, y, f) for x, y in zip(a, b)]
    return b


def is_1part(v):
    return isinstance(v, list) and len(v) >= 7 and isinstance(v[0], bytes) \
        and isinstance(v[6], int)


def fix_lines(a, b):
    if is_1part(a) and is_1part(b) and a[0].lower() in (b"text", b"message"):
        k = 9 if len(a) > 9 and isinstance(a[7], list) else 7
        if len(a) > k and isinstance(a[k], int) and b[k] == a[k] + 1:
            b = list(b)
            b[k] = a[k]
    return b


def norm_lines(theirs, ours):
    """Ours counts a last line without a line break; Dovecot does not."""
    return theirs, {k: walk_pair(theirs[k], v, fix_lines) if k != "ENVELOPE"
                    else v for k, v in ours.items()}


def fix_msg_end(a, b):
    if is_1part(a) and is_1part(b) and len(a) > 9 and \
            isinstance(a[7], list) and b[6] == a[6] - 2 and b[9] == a[9] - 1:
        b = list(b)
        b[6], b[9] = a[6], a[9]
    return b


def norm_msg_end(theirs, ours):
    """Dovecot puts the line break before the next boundary in a message."""
    return theirs, {k: walk_pair(theirs[k], v, fix_msg_end)
                    if k != "ENVELOPE" else v for k, v in ours.items()}


def fix_msg_close(a, b):
    if is_1part(a) and is_1part(b) and len(a) > 9 and \
            a[0].lower() == b"message" and isinstance(a[7], list) and \
            b[6] == a[6] - 2 and b[9] == a[9]:
        b = list(b)
        b[6] = a[6]
    return b


def norm_msg_close(theirs, ours):
    """Dovecot puts the line break before the next boundary in a message
    that ends with a close delimiter (or is base64): 2 octets, no line."""
    return theirs, {k: walk_pair(theirs[k], v, fix_msg_close)
                    if k != "ENVELOPE" else v for k, v in ours.items()}


# Reasons for known differences: the text, and the normalisation that must
# make both answers equal (None: the difference is in structure that the
# two parsers read differently; the text says how, checked by hand).
REASONS = {
    "words": ("the record keeps display names, group names and descriptions "
              "decoded; non-ASCII ones go out as UTF-8 \"B\" encoded words, "
              "not in the sender's charset and encoding", pair(norm_words)),
    "params": ("the record keeps parameter values decoded; non-ASCII ones go "
               "out as RFC 2231 UTF-8 values, ASCII ones plain, where Dovecot "
               "sends what the header had (RFC 2231 with another charset, "
               "or RFC 2047 words inside quotes)", pair(norm_params)),
    "case": ("the record keeps type, subtype, encoding and disposition in "
             "lower case; Dovecot sends the header's spelling (and writes "
             "charset US-ASCII as us-ascii)",
             pair(norm_case)),
    "ws": ("Dovecot collapses runs of white space in subjects and names and "
           "turns a folding TAB into a space (its 'for humans' form), and "
           "keeps leading/trailing space of Date and Message-ID; we send "
           "the field unfolded as RFC 5322 2.2.3 says, trimmed",
           pair(norm_ws)),
    "lines": ("the record counts a last line without a line break (before a "
              "boundary or at the end) as a line; Dovecot counts line "
              "breaks", norm_lines),
    "msgend": ("Dovecot counts the line break before the next boundary into "
               "an encapsulated multipart message (2 octets, 1 line); RFC "
               "2046 5.1.1 attaches it to the boundary", norm_msg_end),
    "msgclose": ("Dovecot counts the line break before the next boundary "
                 "into an encapsulated message whose last line is a close "
                 "delimiter of its own multipart, or which it does not "
                 "parse (base64): 2 octets, and the same line count since "
                 "that line is counted either way; RFC 2046 5.1.1 attaches "
                 "the line break to the boundary", norm_msg_close),
}
ORDER = ("words", "params", "case", "ws", "lines", "msgend", "msgclose")

# Messages whose differences no normalisation above removes: broken mail
# that lib/mime reads differently from Dovecot.  Each was checked by hand
# against the message and the RFCs; the reason says what differs and why
# our answer is right or an equally good reading of input that breaks the
# RFC.  A reason shared by several messages (the constants) holds for each
# of them; the text after it names what it is in that message.
DUP = ("a field RFC 5322 3.6 allows once is there more than once; lib/mime "
       "keeps the first (the record holds one of each), Dovecot the "
       "last Date, Subject and Message-ID and the addresses of every "
       "From/Sender/To/Cc: ")
HDR_END = ("a header without its empty line: a line that is no field "
           "(RFC 5322 2.2, name and colon) with no field after it before "
           "the empty line or a delimiter; lib/mime starts the body at that "
           "line (as for a part without header fields, RFC 2046 5.1.1), "
           "Dovecot reads every line up to the empty line (or the end) as "
           "a broken field, so its body is short or empty: ")
BAD_CTYPE = ("a Content-Type that is not type \"/\" subtype (RFC 2045 5.1); "
             "Dovecot sends \"\" \"\" without parameters or line count, we "
             "send text/plain; charset us-ascii, the default RFC 2045 5.2 "
             "recommends for a syntactically invalid Content-Type: ")
NO_BOUNDARY = ("a multipart without a usable boundary parameter (RFC 2046 "
               "5.1.1 requires one, of 1 to 70 characters); Dovecot sends "
               "a multipart with one empty text/plain part, we send the "
               "part as the RFC 2045 5.2 default text/plain, which keeps "
               "its octets readable: ")
EQ_BOUNDARY = ("an unquoted boundary containing '=' (a tspecial, RFC 2045 "
               "5.1): Dovecot ends the token at the '=', so its boundary "
               "is \"----\", a prefix of every delimiter line, and a last "
               "empty part follows; we take the value to the end of the "
               "parameter, the boundary the delimiter lines spell out")
SEP_LINE = ("an encapsulated message whose empty body ends right at the "
            "next boundary: the line break of its empty line belongs to "
            "that boundary (RFC 2046 5.1.1), so the message/rfc822 part "
            "holds only the header lines, which we count; Dovecot counts "
            "the empty line too (one line more, same octets)")
RAW8 = ("8-bit bytes that are not UTF-8 in a header (RFC 6532 3 allows "
        "only UTF-8): lib/mime reads them as windows-1252 (within an "
        "encoded word, as its charset) and sends UTF-8; Dovecot sends the "
        "raw bytes, which are no valid UTF-8 string (RFC 9051 4.3): ")
ANGLE_WS = ("an angle-addr with white space and no '@' (\"<a b>\"): we join "
            "the words as obs-local-part does with CFWS (RFC 5322 4.4) and "
            "send MISSING_DOMAIN; Dovecot keeps the first word and sends "
            "host SYNTAX_ERROR: ")
AT_NAME = ("an unquoted '@' in a display name before an angle-addr (RFC "
           "5322 3.4 needs a quoted string there): we keep the words as "
           "the name and the angle-addr as the address, Dovecot reads the "
           "words as an addr-spec and drops the rest: ")
UNQUOTED_WS = ("an unquoted parameter value with spaces (RFC 2045 5.1 token "
               "ends at a space): Dovecot keeps the first word, lib/mime "
               "reads to the ';' or the end: ")
CTE_WS = ("a Content-Transfer-Encoding of two words, no RFC 2045 6.1 "
          "mechanism: Dovecot sends the 7bit default, we send the first "
          "word, an unknown mechanism the client must treat as opaque "
          "(RFC 2045 6.4); neither decodes the body: ")
PARSE = {
    '0031-mu-cur-mail4.eml':
        "From/To/Cc name =?iso-8859-1?Q? \"=F6tzi\" ?= is an encoded word "
        "with spaces in its encoded-text, which RFC 2047 2 forbids; we "
        "decode it leniently to the name the sender meant (\\xf6tzi), "
        "Dovecot leaves it undecoded",
    '0046-mimekit-startrek.eml':
        BAD_CTYPE + "part 2.3 \"X-BE2; 12\"",
    '0051-mimekit-content-length.mbox-m1.eml':
        "\"multipart/mixed;; Boundary=...\": the empty parameter between "
        "the two ';' makes Dovecot drop the parameters, so it finds no "
        "boundary and sends one empty part; lib/mime skips the empty one "
        "and splits the message on its boundary into its two parts",
    '0057-mimekit-content-length.mbox-m7.eml':
        "From develop!nextmime@ebony@sblab.att.com has two '@' (RFC 5322 "
        "3.4.1 allows one): we split at the last, Dovecot at the first; "
        "To \"@develop:sblab!att!thumper.bellcore.com!nsb\" is a source "
        "route without angle brackets: we read a group \"@develop\" with "
        "the bang path as a local part without domain, Dovecot an address "
        "with host develop and no local part; both read garbage",
    '0085-mimekit-simple.mbox-m3.eml':
        NO_BOUNDARY + "boundary=\"\" at every level (Dovecot nests three "
        "multiparts split on bare \"--\" lines)",
    '0104-mimekit-feedback-report.eml':
        "the message starts with a UTF-8 byte order mark: we skip it "
        "(RFC 3629 6: not part of the text) and read From, Dovecot reads "
        "\"\\ufeffFrom\" as an unknown field and has no From.  " + ANGLE_WS +
        "\"<Undisclosed Recipients>\" in the attached message",
    '0106-mimekit-issue358.eml':
        AT_NAME + "From jang.abcdef@xyzlinu <jang.abcdef@xyzlinux...it>",
    '0108-mimekit-missing-subtype.eml':
        BAD_CTYPE + "\"application-x-gzip\"",
    '0116-mimekit-stack-overflow.eml':
        "To holds =?utf-8?Q?date=3E2017-08-20T10:08:28.617=3C/pr?=, "
        "an encoded word with ':' (RFC 2047 5(3) forbids specials in a "
        "phrase's word), repeated on 4 lines: both read the first ':' as "
        "a group start; Dovecot keeps \"08\" as a member, we send the "
        "group without members (the rest holds no address) and its name, "
        "no complete encoded word, as UTF-8 \"B\" text",
    '0167-rubymail-attachment_message_rfc822_inline_image.eml':
        SEP_LINE + " (part 2, 36 lines; also the encapsulated multipart has "
        "no parts: both send one empty text/plain)",
    '0173-rubymail-attachment_with_encoded_name.eml':
        "name*=iso-2022-jp'ja'...%8a...: byte 0x8a is not ISO-2022-JP "
        "(7-bit); Dovecot's converter sends U+FFFD, lib/mime falls back "
        "to windows-1252 (U+0160); both repair invalid input",
    '0175-rubymail-attachment_with_unquoted_name.eml':
        UNQUOTED_WS + "name=This is a test.txt (and filename): ours is the "
        "file name the sender meant",
    '0184-rubymail-content_transfer_encoding_qp_with_space.eml':
        CTE_WS + "\"quoted printable\" (we send \"quoted\")",
    '0188-rubymail-content_transfer_encoding_with_semi_colon.eml':
        "Content-Transfer-Encoding \"quoted-printable;\": Dovecot rejects "
        "the value for its ';' and sends 7bit; we drop what follows the "
        "mechanism (as a comment) and send quoted-printable, the "
        "mechanism the field names (this body has no '=' escapes)",
    '0195-rubymail-missing_body.eml':
        "To <Undisclosed-Recipient:@mailman.enron.com;> is no addr-spec "
        "(a group inside an angle-addr): we take its text as the address "
        "and split at the '@', Dovecot stops at the ':' with host "
        "SYNTAX_ERROR; both are readings of garbage",
    '0196-rubymail-missing_content_disposition.eml':
        "part 1 has an empty Content-Disposition, which has no "
        "disposition-type (RFC 2183 2): we send NIL as for no field, "
        "Dovecot (\"\" NIL)",
    '0198-rubymail-multiple_invalid_content_dispositions.eml':
        "Content-Disposition =?utf-8?Q?invalid?= (twice) is no RFC 2183 "
        "disposition-type (an encoded word is not allowed there, RFC 2047 "
        "5): we send its text lower-cased, Dovecot an empty string",
    '0203-rubymail-weird_to_header.eml':
        "To \", user-example@aol.com, ...\" starts with a null member, "
        "which RFC 5322 4.4 (obs-addr-list) allows and says nothing "
        "about; we drop it, Dovecot sends a MISSING_MAILBOX placeholder",
    '0210-rubymail-raw_email_with_binary_encoded.eml':
        DUP + "Subject.  And " + EQ_BOUNDARY,
    '0211-rubymail-raw_email_with_illegal_boundary.eml': EQ_BOUNDARY,
    '0213-rubymail-raw_email_with_multipart_mixed_quoted_boundary.eml':
        DUP + "Subject",
    '0229-rubymail-mix_caps_content_type.eml':
        "From \"Big Bug bb@bug.com\": a phrase before a bare addr-spec "
        "(no angle brackets, RFC 5322 3.4): we join the words into the "
        "local part as obs-local-part CFWS (4.4), Dovecot takes them as a "
        "name without address; both are readings of an invalid field",
    '0234-rubymail-raw_email_bad_time.eml': EQ_BOUNDARY,
    '0237-rubymail-raw_email_multiple_from.eml':
        "From/To/Reply-To \"tim@powerupdev.com concierge@powerupdev.com\": "
        "two addr-specs without a comma; we drop the white space between "
        "them (obs CFWS, RFC 5322 4.4) and split at the last '@', "
        "Dovecot keeps the first address; neither reading is valid",
    '0243-rubymail-raw_email_with_at_display_name.eml':
        AT_NAME + "To ... Mikel@Lindsaar <raasdnil@gmail.com>, "
        "tom@gmail.com (Dovecot also drops the address after it)",
    '0255-rubymail-example11.eml':
        "To (RFC 5322 A.6.3 example): a null member \", ,\" that we drop "
        "where Dovecot sends a MISSING_MAILBOX placeholder (the source "
        "route of <@machine.tld:mary@example.net> goes out as addr-adl "
        "\"@machine.tld\" from both)",
    '0342-thunderbird-testmsg-nested.eml':
        UNQUOTED_WS + "name=that's why.eml\" with a stray quote",
    '0371-thunderbird-untyped_text_with_cte_and_charset.eml':
        BAD_CTYPE + "\"text; charset=...\" (no subtype)",
    '0375-thunderbird-evil.eml':
        DUP + "Date, From, Sender, Subject, Message-ID",
    '0379-thunderbird-test-alt-rel-text.eml':
        BAD_CTYPE + "part 3 \"text; charset=UTF-8\" (no subtype)",
    '0386-thunderbird-test-triple-alt.eml':
        BAD_CTYPE + "part 3 \"text; charset=...\" (no subtype)",
    '0403-thunderbird-inline-signed-utf8.eml':
        DUP + "Date, Message-ID",
    '0421-thunderbird-signed-by-0xfbfcc82a015e7330-encrypted-to-0xf231.eml':
        DUP + "From",
    '0469-thunderbird-data-mailformed_recipients.eml': DUP + "To (3 times)",
    '0481-thunderbird-bug505221.eml':
        ANGLE_WS + "From <aaa bbb>, and <sys admin> in the attached message",
    '0484-thunderbird-message-encoded.eml':
        "Dovecot 2.3 sends message/global as a basic part; RFC 9051 9 "
        "media-message includes GLOBAL, so it goes out as body-type-msg "
        "(a base64 one with an empty envelope and body, as Dovecot does "
        "for a base64 message/rfc822)",
    '0485-thunderbird-mime-torture.eml':
        BAD_CTYPE + "part 12.2 \"BINARY;name=...\" (no subtype)",
    '0496-thunderbird-shift-jis-image.eml':
        RAW8 + "Content-Description in raw Shift_JIS (windows-1252 "
        "mojibake in ours, invalid UTF-8 in Dovecot's)",
    '0547-thunderbird-bare-text-type.eml':
        "Content-Type \"text\" without a subtype (RFC 2045 5.1 requires "
        "one): Dovecot sends subtype \"\", we send the RFC 2045 5.2 "
        "default text/plain",
    '0562-thunderbird-bugmail1.eml': DUP + "Subject",
    '0635-notmuch-broken-cc.eml': DUP + "Cc",
    '0933-cpython-data-msg_14.eml':
        BAD_CTYPE + "\"text; charset=us-ascii\" (no subtype)",
    '0938-cpython-data-msg_20.eml': DUP + "Cc (3 times)",
    '0943-cpython-data-msg_25.eml':
        NO_BOUNDARY + "multipart/report with a truncated \"bo\" parameter."
        "  And " + DUP + "To",
    '0950-cpython-data-msg_32.eml':
        "charset*=ansi-x3.4-1968''us-ascii is the RFC 2231 4 form of "
        "charset; we decode it into one charset parameter, Dovecot sends "
        "it raw and adds its default charset us-ascii beside it",
    '0951-cpython-data-msg_33.eml':
        "boundary*=\"ansi-x3.4-1968''EeQfGwPcQSOJBaQU\" is an RFC 2231 4 "
        "boundary: we decode it and find the two parts, Dovecot does not "
        "and sends one empty part",
    '0953-cpython-data-msg_35.eml':
        HDR_END + "the last line \"counter to RFC 2822, ...\" of the "
        "message (the test's own point: no empty line)",
    '0956-cpython-data-msg_38.eml':
        HDR_END + "parts 1.2 (\"and \") and 2 (\"but puts them ...\") start "
        "without header and empty line, after outer delimiters inside "
        "the text, with transport padding (RFC 2046 5.1.1)",
    '0959-cpython-data-msg_41.eml':
        NO_BOUNDARY + "multipart/alternative with no parameters",
    '0965-cpython-data-msg_47.eml':
        HDR_END + "\"bar\" and \"<html>...\" right after the Content-Type of "
        "parts 1 and 2",
    '0973-sisimai-arf-11.eml':
        ANGLE_WS + "\"<Undisclosed Recipients>\" in the attached message",
    '0985-sisimai-lhost-apachejames-01.eml':
        NO_BOUNDARY + "part 1, whose boundary=... line lost its folding "
        "white space: no field, and the empty line follows, so we start "
        "the body there (see HDR_END) and Dovecot drops it as a broken "
        "field",
    '0990-sisimai-lhost-courier-01.eml': SEP_LINE + " (part 3)",
    '1029-sisimai-lhost-kddi-02.eml': DUP + "Message-ID",
    '1030-sisimai-lhost-kddi-03.eml': DUP + "Message-ID",
    '1032-sisimai-lhost-mailfoundry-02.eml':
        DUP + "From of the attached message",
    '1077-sisimai-lhost-sendgrid-03.eml':
        AT_NAME + "Sender kijitora@example.Jp <kijitora=...@sendgrid.info> "
        "in the attached message",
    '1091-sisimai-lhost-verizon-02.eml':
        NO_BOUNDARY + "part 1, whose boundary=... line lost its folding "
        "white space: no field, and the empty line follows, so we start "
        "the body there (see HDR_END) and Dovecot drops it as a broken "
        "field",
    '1093-sisimai-lhost-x1-02.eml':
        BAD_CTYPE + "part 1 \"text/plain charset=...\" (the ';' missing)",
    '1164-sisimai-rhost-yahooinc-03.eml':
        DUP + "To of the attached message (the second one a local part "
        "without domain)",
    '1178-sisimai-make-test-11.eml': SEP_LINE + " (part 3)",
    '1226-stalwart-legacy-010.eml': RAW8 + "To name (Latin-1)",
    '1232-stalwart-legacy-016.eml':
        RAW8 + "name and filename of part 3 (Latin-1)",
    '1233-stalwart-legacy-017.eml': RAW8 + "To name (Latin-1)",
    '1236-stalwart-legacy-020.eml': RAW8 + "To name (Latin-1)",
    '1238-stalwart-legacy-022.eml': RAW8 + "To name (Latin-1)",
    '1239-stalwart-legacy-023.eml': RAW8 + "filename of part 4 (Latin-1)",
    '1242-stalwart-legacy-026.eml':
        RAW8 + "name and filename of part 2 (Latin-1)",
    '1243-stalwart-legacy-027.eml': RAW8 + "To name (Latin-1)",
    '1268-stalwart-legacy-052.eml': RAW8 + "To name (Latin-1)",
    '1285-stalwart-malformed-016.eml':
        "nested boundaries of 82, 81 and 80 characters (RFC 2046 5.1.1 "
        "allows 70), each a prefix of the next: we take a line as a "
        "delimiter of the boundary it spells exactly (then only white "
        "space may follow), Dovecot of the innermost one it starts with, "
        "so it puts all four parts in the innermost multipart",
    '1286-stalwart-malformed-017.eml':
        BAD_CTYPE + "\"multipart/mixed boundary=...\" (the ';' missing)",
    '1288-stalwart-malformed-019.eml':
        DUP + "Date (the first one garbled).  And " + HDR_END + "parts 4 "
        "and 5, a fuzzed copy of a multipart",
    '1289-stalwart-malformed-022.eml':
        HDR_END + "the attached message/rfc822 is one line without a "
        "colon (Dovecot's part is also 2 octets longer, the line break "
        "before the boundary, see \"msgend\")",
    '1291-stalwart-rfc-001.eml':
        "access-type=mail-server with the ';' before server=... missing "
        "(so in the example of RFC 2046 5.2.3 too): Dovecot ends the token "
        "at the space, lib/mime reads an unquoted value to the ';' and "
        "takes in the next parameter",
    '1304-stalwart-thirdparty-004.eml':
        CTE_WS + "\"8 bit\" (we send \"8\")",
    '1315-stalwart-thirdparty-015.eml':
        HDR_END + "the third attached message's Received field folds "
        "without white space just before the empty line (its body starts "
        "4 lines early); parts 2 and 3 differ as \"msgclose\" says",
}

# message file -> reasons (keys of REASONS).
KNOWN = {
    '0015-mu-multimime_2_FS.eml': ('lines',),
    '0023-mu-new-1220863087.12663_9.mindcrime.eml': ('lines',),
    '0052-mimekit-content-length.mbox-m2.eml': ('words',),
    '0053-mimekit-content-length.mbox-m3.eml': ('words',),
    '0055-mimekit-content-length.mbox-m5.eml': ('words', 'params'),
    '0059-mimekit-content-length.mbox-m9.eml': ('lines',),
    '0060-mimekit-content-length.mbox-m10.eml': ('lines',),
    '0063-mimekit-content-length.mbox-m13.eml': ('lines',),
    '0068-mimekit-content-length.mbox-m18.eml': ('lines',),
    '0070-mimekit-content-length.mbox-m20.eml': ('lines',),
    '0073-mimekit-content-length.mbox-m23.eml': ('case',),
    '0075-mimekit-content-length.mbox-m25.eml': ('lines',),
    '0077-mimekit-content-length.mbox-m27.eml': ('lines',),
    '0078-mimekit-content-length.mbox-m28.eml': ('lines',),
    '0086-mimekit-body.1.eml': ('lines',),
    '0087-mimekit-body.2.eml': ('lines',),
    '0088-mimekit-body.3.eml': ('lines',),
    '0089-mimekit-body.4.eml': ('lines',),
    '0090-mimekit-body.5.eml': ('lines',),
    '0091-mimekit-body.6.eml': ('lines',),
    '0092-mimekit-body.7.eml': ('lines',),
    '0093-mimekit-body.8.eml': ('lines',),
    '0094-mimekit-body.9.eml': ('lines',),
    '0097-mimekit-delivery-status-no-blank-line.eml': ('lines',),
    '0098-mimekit-delivery-status.anonymized.eml': ('lines',),
    '0105-mimekit-issue1130.eml': ('lines',),
    '0111-mimekit-rfc2060.eml': ('case', 'msgclose'),
    '0117-mimekit-Announce_GnuPG_2.1.20_released.eml': ('lines',),
    '0142-mailmessage-t-203-mlfolder-m8.eml': ('case',),
    '0152-mailmessage-t-203-mlfolder-m18.eml': ('lines',),
    '0154-mailmessage-t-204-sgfolder-m2.eml': ('words',),
    '0158-mailmessage-t-204-sgfolder-m6.eml': ('case',),
    '0159-mailmessage-t-204-sgfolder-m7.eml': ('case',),
    '0168-rubymail-attachment_nonascii_filename.eml': ('params',),
    '0169-rubymail-attachment_only_email.eml': ('params',),
    '0172-rubymail-attachment_with_base64_encoded_name.eml': ('params',),
    '0174-rubymail-attachment_with_quoted_filename.eml': ('params',),
    '0176-rubymail-bad_date_header.eml': ('ws',),
    '0179-rubymail-bad_subject.eml': ('words', 'ws'),
    '0180-rubymail-cant_parse_from.eml': ('case',),
    '0185-rubymail-content_transfer_encoding_spam.eml': ('case',),
    '0192-rubymail-encoding_madness.eml': ('words', 'lines'),
    '0193-rubymail-header_fields_with_empty_values.eml': ('words',),
    '0194-rubymail-invalid_subject_characters.eml': ('words',),
    '0197-rubymail-multiple_content_types.eml': ('case',),
    '0199-rubymail-multiple_references_with_one_invalid.eml': ('case',),
    '0200-rubymail-must_supply_encoding.eml': ('words',),
    '0201-rubymail-new_line_in_to_header.eml': ('lines',),
    '0202-rubymail-trademark_character_in_subject.eml': ('lines',),
    '0209-rubymail-raw_email_encoded_stack_level_too_deep.eml': ('words',),
    '0212-rubymail-raw_email_with_mimepart_without_content_type.eml': ('words',),
    '0215-rubymail-raw_email_with_quoted_illegal_boundary.eml': ('case',),
    '0218-rubymail-japanese.eml': ('lines',),
    '0219-rubymail-japanese_attachment.eml': ('params', 'lines'),
    '0220-rubymail-japanese_attachment_long_name.eml': ('params',),
    '0225-rubymail-multipart_report_multiple_status.eml': ('params',),
    '0242-rubymail-raw_email_trailing_dot.eml': ('lines',),
    '0258-rubymail-example14.eml': ('words',),
    '0259-rubymail-utf8_headers.eml': ('words',),
    '0265-thunderbird-meet-meeting-invite.eml': ('lines',),
    '0266-thunderbird-message-containing-event.eml': ('case',),
    '0276-thunderbird-attachedMessageSample.eml': ('words', 'lines', 'msgclose'),
    '0279-thunderbird-attachedMessageWithMissingHeaders.eml': ('lines',),
    '0287-thunderbird-nestedMessageInline.eml': ('lines',),
    '0288-thunderbird-nestedMessageNoContentDispositionHeader.eml': ('lines',),
    '0289-thunderbird-nestedMessages.eml': ('lines',),
    '0290-thunderbird-nestedMessagesUnusualMultipart.eml': ('lines',),
    '0292-thunderbird-sample02.eml': ('words',),
    '0293-thunderbird-sample03.eml': ('words',),
    '0294-thunderbird-sample04.eml': ('lines',),
    '0295-thunderbird-sample05.eml': ('lines',),
    '0298-thunderbird-sample08.eml': ('lines',),
    '0300-thunderbird-utf8MailboxStrings.eml': ('words',),
    '0302-thunderbird-bug1358565.eml': ('lines',),
    '0305-thunderbird-multiple_attachments.eml': ('lines',),
    '0307-thunderbird-rfc822_base64_attachment.eml': ('msgend',),
    '0309-thunderbird-attachment-in-multipart-alternative.eml': ('lines',),
    '0310-thunderbird-attachment-only-multipart-mixed.eml': ('lines',),
    '0311-thunderbird-base64-bug1586890.eml': ('lines',),
    '0334-thunderbird-malformed-multipart-mixed.eml': ('case',),
    '0336-thunderbird-multipart-charset.eml': ('lines',),
    '0339-thunderbird-related-inline-pdf-draft.eml': ('lines',),
    '0346-thunderbird-test-invalid-vcard.eml': ('lines',),
    '0347-thunderbird-evil-attached.eml': ('lines',),
    '0349-thunderbird-bug1774805_android_mms.eml': ('params', 'lines'),
    '0361-thunderbird-correctEncodingUTF8.eml': ('lines',),
    '0365-thunderbird-image_sizing_test.eml': ('lines',),
    '0370-thunderbird-noCharsetWindows1252.eml': ('lines',),
    '0372-thunderbird-wronglyDeclaredShift_JIS.eml': ('lines',),
    '0373-thunderbird-wronglyDeclaredUTF8.eml': ('lines',),
    '0387-thunderbird-test-vcard-icon.eml': ('lines',),
    '0398-thunderbird-eve-duplicate.eml': ('lines',),
    '0399-thunderbird-forwarded-eml-signed-by-alice.eml': ('lines',),
    '0405-thunderbird-multiple-signatures.eml': ('lines',),
    '0406-thunderbird-openpgp__stripped_sig.eml': ('lines',),
    '0433-thunderbird-unrelated-and-fake-keys-attached.eml': ('lines',),
    '0451-thunderbird-data-429891_testcase.eml': ('words',),
    '0454-thunderbird-sendlater_dsn.eml': ('words',),
    '0455-thunderbird-sendlater_dsn_with_message_id.eml': ('words',),
    '0470-thunderbird-data-mailformed_subject.eml': ('case', 'lines'),
    '0483-thunderbird-charsets.eml': ('lines',),
    '0495-thunderbird-multipartmalt-detach.eml': ('lines',),
    '0505-thunderbird-bug403242.eml': ('words', 'lines'),
    '0546-thunderbird-badly-folded-headers.eml': ('words',),
    '0554-thunderbird-bodystructuretest1.eml': ('lines',),
    '0556-thunderbird-bodystructuretest3.eml': ('lines',),
    '0557-thunderbird-bug132340.eml': ('case', 'lines'),
    '0564-thunderbird-bugmail12.eml': ('words',),
    '0587-thunderbird-multipartmalt-detach.eml': ('lines',),
    '0625-mailparser-decoderended.eml': ('lines',),
    '0626-mailparser-delivery-status.eml': ('lines',),
    '0630-mailparser-nested.eml': ('lines',),
    '0631-mailparser-nodemailer.eml': ('params', 'lines'),
    '0633-notmuch-text-calendar.eml': ('ws',),
    '0634-notmuch-x-gtar-compressed.eml': ('words',),
    '0643-notmuch-default-01_2.eml': ('words',),
    '0644-notmuch-default-02_2.eml': ('words',),
    '0647-notmuch-baz-05_2.eml': ('lines',),
    '0650-notmuch-cur-25_2.eml': ('words',),
    '0656-notmuch-new-21_2.eml': ('words',),
    '0659-notmuch-cur-30_2.eml': ('words',),
    '0661-notmuch-cur-32_2.eml': ('words',),
    '0667-notmuch-cur-38_2.eml': ('words',),
    '0680-notmuch-cur-52_2.eml': ('words',),
    '0685-notmuch-cur-13_2.eml': ('words',),
    '0705-notmuch-embedded-image.eml': ('words',),
    '0710-notmuch-cur-1354585346.000260_2.eml': ('words',),
    '0711-notmuch-cur-1354585346.000261_2.eml': ('words',),
    '0729-notmuch-cur-1382298587.001887_2.eml': ('case',),
    '0730-notmuch-cur-1382298587.001892_2.eml': ('case',),
    '0744-notmuch-cur-1382298587.002997_2.eml': ('case',),
    '0746-notmuch-cur-1382298587.003112_2.eml': ('words', 'case'),
    '0748-notmuch-cur-1382298587.003118_2.eml': ('words', 'case'),
    '0749-notmuch-cur-1382298587.003171_2.eml': ('words',),
    '0750-notmuch-cur-1382298587.003317_2.eml': ('case',),
    '0753-notmuch-cur-1382298587.004581_2.eml': ('case',),
    '0761-notmuch-cur-1382298775.002978_2.eml': ('case',),
    '0767-notmuch-cur-1382298775.004374_2.eml': ('case',),
    '0769-notmuch-cur-1382298793.002254_2.eml': ('words',),
    '0770-notmuch-cur-1382298793.002255_2.eml': ('words',),
    '0813-notmuch-cur-1382298793.002302_2.eml': ('case',),
    '0816-notmuch-cur-1382298793.002340_2.eml': ('case',),
    '0818-notmuch-cur-1382298793.002432_2.eml': ('words',),
    '0819-notmuch-cur-1382298793.002468_2.eml': ('words',),
    '0820-notmuch-cur-1382298793.002543_2.eml': ('words',),
    '0822-notmuch-cur-1382298793.002575_2.eml': ('words',),
    '0824-notmuch-cur-1382298793.002639_2.eml': ('words',),
    '0830-notmuch-cur-1382298793.002665_2.eml': ('words',),
    '0831-notmuch-cur-1382298793.002666_2.eml': ('words',),
    '0832-notmuch-cur-1382298793.002667_2.eml': ('words',),
    '0838-notmuch-cur-1382298793.002688_2.eml': ('words',),
    '0840-notmuch-cur-1382298793.003013_2.eml': ('words',),
    '0843-notmuch-cur-1382298793.003216_2.eml': ('case',),
    '0845-notmuch-cur-1382298793.003278_2.eml': ('case',),
    '0856-notmuch-cur-1382298793.003478_2.eml': ('words',),
    '0857-notmuch-cur-1382298793.003497_2.eml': ('case',),
    '0858-notmuch-cur-1382298793.003501_2.eml': ('case',),
    '0861-notmuch-cur-1382298793.004059_2.eml': ('words',),
    '0862-notmuch-cur-1382298793.004091_2.eml': ('case',),
    '0864-notmuch-cur-1382298795.000299_2.eml': ('case',),
    '0865-notmuch-cur-1382298795.001362_2.eml': ('words',),
    '0866-notmuch-cur-1382298795.002635_2.eml': ('words',),
    '0881-notmuch-cur-1382298805.004653_2.eml': ('case',),
    '0882-notmuch-cur-1382298805.004665_2.eml': ('words', 'case'),
    '0883-notmuch-cur-1382298805.004680_2.eml': ('words', 'case'),
    '0884-notmuch-cur-1382298805.004688_2.eml': ('words', 'case'),
    '0885-notmuch-cur-1382298805.004906_2.eml': ('case',),
    '0906-notmuch-wrapped-protected-header.eml': ('lines',),
    '0907-notmuch-ghost-root-1529425589.M615261P21663.len_2_S.eml': ('words',),
    '0908-notmuch-ghost-root-1532672447.R3166642290392477575.len_2_S.eml': ('words',),
    '0909-notmuch-ghost-root-1532672447.R6968667928580738175.len_2_S.eml': ('words',),
    '0928-cpython-data-msg_10.eml': ('case',),
    '0935-cpython-data-msg_16.eml': ('case',),
    '0939-cpython-data-msg_21.eml': ('lines',),
    '0940-cpython-data-msg_22.eml': ('lines',),
    '0941-cpython-data-msg_23.eml': ('lines',),
    '0945-cpython-data-msg_27.eml': ('words',),
    '0947-cpython-data-msg_29.eml': ('params',),
    '0954-cpython-data-msg_36.eml': ('params', 'case'),
    '0968-emailmime-nested-parts.eml': ('lines',),
    '0982-sisimai-lhost-amazonworkmail-01.eml': ('words', 'ws', 'lines'),
    '0983-sisimai-lhost-amazonworkmail-02.eml': ('words', 'ws', 'lines'),
    '0984-sisimai-lhost-amazonworkmail-03.eml': ('words', 'ws', 'lines'),
    '0993-sisimai-lhost-domino-01.eml': ('case',),
    '0994-sisimai-lhost-domino-02.eml': ('words',),
    '0995-sisimai-lhost-domino-03.eml': ('words',),
    '1002-sisimai-lhost-exchange2003-02.eml': ('ws',),
    '1005-sisimai-lhost-exchange2007-02.eml': ('case',),
    '1024-sisimai-lhost-googleworkspace-01.eml': ('lines',),
    '1037-sisimai-lhost-mcafee-01.eml': ('case',),
    '1038-sisimai-lhost-mcafee-02.eml': ('case',),
    '1039-sisimai-lhost-mcafee-03.eml': ('case',),
    '1041-sisimai-lhost-messagingserver-02.eml': ('case',),
    '1042-sisimai-lhost-messagingserver-03.eml': ('params',),
    '1072-sisimai-lhost-receivingses-01.eml': ('lines',),
    '1073-sisimai-lhost-receivingses-02.eml': ('lines',),
    '1074-sisimai-lhost-receivingses-03.eml': ('lines',),
    '1081-sisimai-lhost-surfcontrol-01.eml': ('lines',),
    '1082-sisimai-lhost-surfcontrol-02.eml': ('lines',),
    '1102-sisimai-lhost-x5-01.eml': ('words', 'msgclose'),
    '1111-sisimai-lhost-zoho-01.eml': ('lines',),
    '1112-sisimai-lhost-zoho-02.eml': ('lines',),
    '1113-sisimai-lhost-zoho-03.eml': ('lines',),
    '1120-sisimai-rhost-aol-01.eml': ('lines',),
    '1121-sisimai-rhost-aol-02.eml': ('lines',),
    '1122-sisimai-rhost-aol-03.eml': ('lines',),
    '1128-sisimai-rhost-facebook-03.eml': ('lines',),
    '1129-sisimai-rhost-facebook-04.eml': ('lines',),
    '1140-sisimai-rhost-gsuite-03.eml': ('case',),
    '1158-sisimai-rhost-spectrum-01.eml': ('lines',),
    '1176-sisimai-make-test-09.eml': ('lines',),
    '1198-sisimai-make-test-31.eml': ('params',),
    '1206-sisimai-is-not-bounce-02.eml': ('words',),
    '1217-stalwart-legacy-001.eml': ('words',),
    '1218-stalwart-legacy-002.eml': ('words',),
    '1219-stalwart-legacy-003.eml': ('words',),
    '1221-stalwart-legacy-005.eml': ('words',),
    '1223-stalwart-legacy-007.eml': ('words',),
    '1224-stalwart-legacy-008.eml': ('words',),
    '1225-stalwart-legacy-009.eml': ('words',),
    '1227-stalwart-legacy-011.eml': ('words',),
    '1228-stalwart-legacy-012.eml': ('words',),
    '1229-stalwart-legacy-013.eml': ('words',),
    '1231-stalwart-legacy-015.eml': ('words', 'lines'),
    '1234-stalwart-legacy-018.eml': ('words', 'lines'),
    '1240-stalwart-legacy-024.eml': ('words',),
    '1241-stalwart-legacy-025.eml': ('words',),
    '1246-stalwart-legacy-030.eml': ('lines',),
    '1247-stalwart-legacy-031.eml': ('params', 'case'),
    '1251-stalwart-legacy-035.eml': ('words',),
    '1252-stalwart-legacy-036.eml': ('words', 'case'),
    '1253-stalwart-legacy-037.eml': ('lines',),
    '1255-stalwart-legacy-039.eml': ('words',),
    '1256-stalwart-legacy-040.eml': ('words',),
    '1257-stalwart-legacy-041.eml': ('words', 'params', 'case'),
    '1258-stalwart-legacy-042.eml': ('lines',),
    '1259-stalwart-legacy-043.eml': ('words',),
    '1261-stalwart-legacy-045.eml': ('words', 'params', 'case', 'lines'),
    '1262-stalwart-legacy-046.eml': ('words',),
    '1263-stalwart-legacy-047.eml': ('params', 'lines'),
    '1264-stalwart-legacy-048.eml': ('lines',),
    '1266-stalwart-legacy-050.eml': ('words',),
    '1267-stalwart-legacy-051.eml': ('words', 'lines'),
    '1269-stalwart-legacy-053.eml': ('words',),
    '1275-stalwart-malformed-005.eml': ('lines',),
    '1278-stalwart-malformed-008.eml': ('lines',),
    '1279-stalwart-malformed-009.eml': ('lines',),
    '1281-stalwart-malformed-012.eml': ('lines',),
    '1282-stalwart-malformed-013.eml': ('lines',),
    '1283-stalwart-malformed-014.eml': ('lines',),
    '1287-stalwart-malformed-018.eml': ('lines',),
    '1290-stalwart-rfc-000.eml': ('case',),
    '1292-stalwart-rfc-002.eml': ('lines',),
    '1295-stalwart-rfc-005.eml': ('lines',),
    '1297-stalwart-rfc-007.eml': ('lines',),
    '1298-stalwart-rfc-008.eml': ('lines', 'msgclose'),
    '1300-stalwart-thirdparty-000.eml': ('lines',),
    '1301-stalwart-thirdparty-001.eml': ('lines',),
    '1302-stalwart-thirdparty-002.eml': ('lines',),
    '1305-stalwart-thirdparty-005.eml': ('lines',),
    '1306-stalwart-thirdparty-006.eml': ('lines',),
    '1307-stalwart-thirdparty-007.eml': ('lines', 'msgclose'),
    '1308-stalwart-thirdparty-008.eml': ('lines',),
    '1309-stalwart-thirdparty-009.eml': ('case', 'lines'),
    '1310-stalwart-thirdparty-010.eml': ('lines',),
    '1311-stalwart-thirdparty-011.eml': ('lines',),
    '1313-stalwart-thirdparty-013.eml': ('lines',),
    '1314-stalwart-thirdparty-014.eml': ('lines',),
}


def explained(theirs, ours, reasons):
    for r in ORDER:
        if r in reasons:
            theirs, ours = REASONS[r][1](theirs, ours)
    return theirs == ours


def suggest(name, theirs, ours):
    """Prints the smallest set of reasons that explains a difference."""
    import itertools
    for n in range(1, len(ORDER) + 1):
        for combo in itertools.combinations(ORDER, n):
            if explained(theirs, ours, combo):
                print("SUGGEST %r: %r," % (name, combo))
                return
    for r in ORDER:
        theirs, ours = REASONS[r][1](theirs, ours)
    print("SUGGESTPARSE %r: %r," % (name, classify(theirs, ours)))


def classify(theirs, ours):
    """A first description of a difference no reason explains."""
    bad = [k for k in ITEMS if theirs[k] != ours[k]]
    t, o = theirs["BODYSTRUCTURE"], ours["BODYSTRUCTURE"]
    if "[NIL, NIL, NIL, NIL, NIL, NIL, NIL, NIL, NIL, NIL]" in repr(o):
        return "ENCAP"
    if bad == ["ENVELOPE"]:
        return "ADDR"
    if repr(t).count("[") != repr(o).count("[") or len(t) != len(o):
        return "TREE"
    if "b'', b''" in repr(t):
        return "EMPTYTYPE"
    return "OTHER"


@unittest.skipUnless(os.path.exists(DOVECOT) and
                     os.path.exists("/usr/lib/dovecot/imap"),
                     "Dovecot's imapd is not installed "
                     "(apt-get install dovecot-imapd)")
@unittest.skipUnless(os.path.isdir(CORPUS), "no mail corpus at " + CORPUS)
class ImapStructDovecotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(DUMP, os.X_OK):
            raise unittest.SkipTest("%s is not built" % DUMP)
        cls.dir = tempfile.mkdtemp(prefix="bulwark-dovecot-")
        os.chmod(cls.dir, 0o755)
        cls.port = free_port()
        if os.getuid() == 0:
            uid = gid = 65534
            users = ""
        else:
            uid, gid = os.getuid(), os.getgid()
            import pwd
            me = pwd.getpwuid(uid).pw_name
            users = ("default_internal_user = %s\ndefault_login_user = %s\n"
                     % (me, me))
        os.makedirs(os.path.join(cls.dir, "mail"))
        os.makedirs(os.path.join(cls.dir, "state"))
        if os.getuid() == 0:
            os.chown(os.path.join(cls.dir, "mail"), uid, gid)
        cls.conf = os.path.join(cls.dir, "dovecot.conf")
        with open(cls.conf, "w") as f:
            f.write(CONF.format(d=cls.dir, port=cls.port, uid=uid, gid=gid,
                                users=users))
        subprocess.run([DOVECOT, "-c", cls.conf], check=True)
        deadline = time.time() + 10
        while True:
            try:
                cls.imap = imaplib.IMAP4("127.0.0.1", cls.port, timeout=60)
                break
            except OSError:
                if time.time() > deadline:
                    cls.stop()
                    raise
                time.sleep(0.1)
        cls.imap.login("tester", "secret")

    @classmethod
    def stop(cls):
        subprocess.run([DOVECOT, "-c", cls.conf, "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.imap.logout()
        except Exception:
            pass
        cls.stop()

    def dump(self, data):
        p = subprocess.run([DUMP, "-b", "-"], input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        return p.stdout

    def test_corpus_matches_dovecot(self):
        c = self.imap
        files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".eml"))
        self.assertEqual(len(files), 1315)
        diffs_dir = os.environ.get("BULWARK_STRUCT_DIFFS")
        typ, _ = c.select("INBOX")
        self.assertEqual(typ, "OK")
        same_bytes = same = explained_n = 0
        unexplained, stale = [], []
        for name in files:
            with open(os.path.join(CORPUS, name), "rb") as f:
                data = f.read()
            crlf = CRLF_RE.sub(b"\r\n", data)
            typ, resp = c.append("INBOX", None, None, data)
            self.assertEqual(typ, "OK", "%s: APPEND %r" % (name, resp))
            uid = re.search(rb"APPENDUID \d+ (\d+)", resp[0]).group(1).decode()
            typ, resp = c.uid("FETCH", uid, "(ENVELOPE BODY BODYSTRUCTURE)")
            self.assertEqual(typ, "OK", name)
            theirs_raw = fetch_raw(resp)
            ours_raw = self.dump(crlf)
            theirs, ours = items(theirs_raw), items(ours_raw)
            ours = {k: ours[k] for k in ITEMS}
            theirs = {k: theirs[k] for k in ITEMS}
            if theirs == ours:
                same += 1
                if theirs_raw == ours_raw:
                    same_bytes += 1
                if name in KNOWN or name in PARSE:
                    stale.append(name)
                continue
            if diffs_dir:
                os.makedirs(diffs_dir, exist_ok=True)
                with open(os.path.join(diffs_dir, name + ".diff"), "wb") as f:
                    for k in ITEMS:
                        if ours[k] != theirs[k]:
                            f.write(b"%s\n  dovecot: %r\n  bulwark: %r\n" %
                                    (k.encode(), theirs[k], ours[k]))
            if name in PARSE:
                explained_n += 1
                continue
            reasons = KNOWN.get(name)
            if reasons is not None and explained(theirs, ours, reasons):
                explained_n += 1
                continue
            unexplained.append(name)
            if os.environ.get("BULWARK_STRUCT_SUGGEST"):
                suggest(name, theirs, ours)
        print("\nimap_struct vs Dovecot: %d of %d identical in value "
              "(%d byte for byte), %d explained, %d unexplained"
              % (same, len(files), same_bytes, explained_n, len(unexplained)))
        self.assertEqual(unexplained, [], "differences without a reason")
        self.assertEqual(stale, [], "listed in KNOWN but now identical")
