/* SPDX-License-Identifier: ISC */
/*
 * dkim.c: the DKIM signer of dkim.h: keys (load, make, write, publish),
 * the relaxed canonicalizations (RFC 6376 3.4.2, 3.4.4), the two hashes
 * (RFC 6376 3.7) and the DKIM-Signature field (RFC 6376 3.5, 5.4-5.6,
 * RFC 8463 3).  The message is read in place: the body is canonicalized
 * into the hash through a small buffer, never copied whole.
 */
#define OPENSSL_NO_DEPRECATED	1	/* EVP only: no RSA_* calls */
#include "dkim.h"
#include "compat.h"
#include "xmalloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

/* RFC 5322 2.1.1: lines SHOULD be no longer than 78 characters. */
#define DKIM_FOLD_COLS		78
/* RFC 1035 3.3.14: one <character-string> of a TXT record. */
#define DKIM_TXT_STRING_MAX	255
#define DKIM_SHA256_LEN		32

struct dkim_key {
	EVP_PKEY	*pkey;
	enum dkim_alg	 alg;
};

/* One header field of the message being signed, as raw bytes. */
struct dkim_field {
	const char	*p;		/* first byte of the name */
	size_t		 len;		/* through its last line end */
	size_t		 namelen;	/* name without WSP before ':' */
};

static const char *const dkim_signed[] = { DKIM_SIGNED_FIELDS };
static const char *const dkim_oversigned[] = { DKIM_OVERSIGNED_FIELDS };

#define DKIM_NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static bool
dkim_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* ASCII only: canonicalization must not depend on the locale. */
static unsigned char
dkim_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Writes what, and the reason OpenSSL gives if any, to err. */
static void
dkim_ssl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[160];

	if (e == 0) {
		strlcpy(err, what, errlen);
		return;
	}
	ERR_error_string_n(e, reason, sizeof(reason));
	snprintf(err, errlen, "%s: %s", what, reason);
	ERR_clear_error();
}

/*
 * A domain or selector: dot-separated labels of letters, digits and
 * hyphens, no hyphen at either end (RFC 6376 3.5 d= and s=, which are
 * RFC 5321 sub-domains).  This also keeps ';', '=', spaces and line ends
 * out of the field we write.
 */
static int
dkim_name_check(const char *s, const char *what, char *err, size_t errlen)
{
	size_t len = strlen(s), i, label = 0;
	unsigned char c;

	if (len == 0 || len > DKIM_DOMAIN_MAX) {
		snprintf(err, errlen, "%s: %s", what,
		    len == 0 ? "empty" : "too long");
		return -1;
	}
	for (i = 0; i <= len; i++) {
		c = (unsigned char)s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > DKIM_LABEL_MAX ||
			    s[i - 1] == '-') {
				snprintf(err, errlen, "%s %s: bad label", what,
				    s);
				return -1;
			}
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0))) {
			snprintf(err, errlen, "%s %s: not a host name", what,
			    s);
			return -1;
		}
		label++;
	}
	return 0;
}

/* --- keys --- */

/* PEM's passphrase callback: there is nobody to ask. */
static int
dkim_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)arg;
	return -1;
}

static struct dkim_key *
dkim_key_wrap(EVP_PKEY *pkey, char *err, size_t errlen)
{
	struct dkim_key *k;
	int bits;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		k = xcalloc(1, sizeof(*k));
		k->alg = DKIM_ED25519_SHA256;
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS) {
			snprintf(err, errlen, "RSA key of %d bits (%d to %d "
			    "are usable, RFC 8301 3.2)", bits,
			    DKIM_RSA_MIN_BITS, DKIM_RSA_MAX_BITS);
			EVP_PKEY_free(pkey);
			return NULL;
		}
		k = xcalloc(1, sizeof(*k));
		k->alg = DKIM_RSA_SHA256;
	} else {
		snprintf(err, errlen, "%s key: only RSA and Ed25519 keys "
		    "sign DKIM", EVP_PKEY_get0_type_name(pkey) != NULL ?
		    EVP_PKEY_get0_type_name(pkey) : "unknown");
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	return k;
}

struct dkim_key *
dkim_key_load(const char *pem, size_t len, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	BIO *bio;

	ERR_clear_error();
	if (len == 0 || len > INT32_MAX) {
		strlcpy(err, len == 0 ? "empty key file" : "key file too large",
		    errlen);
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		dkim_ssl_err(err, errlen, "cannot read the key");
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, dkim_no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		if (memmem(pem, len, "ENCRYPTED", 9) != NULL) {
			ERR_clear_error();
			strlcpy(err, "encrypted private keys are not supported",
			    errlen);
		} else
			dkim_ssl_err(err, errlen, "no private key in PEM text");
		return NULL;
	}
	return dkim_key_wrap(pkey, err, errlen);
}

struct dkim_key *
dkim_key_generate(enum dkim_alg alg, char *err, size_t errlen)
{
	EVP_PKEY *pkey;

	ERR_clear_error();
	if (alg == DKIM_RSA_SHA256)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
		    (size_t)DKIM_RSA_BITS);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pkey == NULL) {
		dkim_ssl_err(err, errlen, "cannot make a key");
		return NULL;
	}
	return dkim_key_wrap(pkey, err, errlen);
}

void
dkim_key_free(struct dkim_key **kp)
{
	if (*kp == NULL)
		return;
	EVP_PKEY_free((*kp)->pkey);
	free(*kp);
	*kp = NULL;
}

enum dkim_alg
dkim_key_alg(const struct dkim_key *k)
{
	return k->alg;
}

int
dkim_key_pem(const struct dkim_key *k, struct buf *out)
{
	BIO *bio;
	char *p;
	long n;
	int r = -1;

	/* A memory BIO clears its buffer when freed (BUF_MEM_free). */
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL,
	    NULL) == 1 && (n = BIO_get_mem_data(bio, &p)) > 0) {
		buf_append(out, p, (size_t)n);
		r = 0;
	}
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

/* Appends the base64 of n bytes at p, without line breaks. */
static void
dkim_base64(struct buf *out, const unsigned char *p, size_t n)
{
	int m;

	buf_reserve(out, (n + 2) / 3 * 4 + 1);
	m = EVP_EncodeBlock(buf_tail(out), p, (int)n);
	buf_commit(out, (size_t)m);
}

int
dkim_public_record(const struct dkim_key *k, struct buf *out)
{
	unsigned char raw[64], *der = NULL;
	size_t rawlen = sizeof(raw);
	int n;

	if (k->alg == DKIM_ED25519_SHA256) {
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1) {
			ERR_clear_error();
			return -1;
		}
		buf_printf(out, "v=DKIM1; k=ed25519; p=");
		dkim_base64(out, raw, rawlen);
		return 0;
	}
	if ((n = i2d_PUBKEY(k->pkey, &der)) <= 0) {
		ERR_clear_error();
		return -1;
	}
	buf_printf(out, "v=DKIM1; k=rsa; p=");
	dkim_base64(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

int
dkim_zone_record(const struct dkim_key *k, const char *domain,
    const char *selector, struct buf *out, char *err, size_t errlen)
{
	struct buf rec = BUF_INIT;
	size_t off, n;

	if (dkim_name_check(domain, "domain", err, errlen) == -1 ||
	    dkim_name_check(selector, "selector", err, errlen) == -1)
		return -1;
	if (dkim_public_record(k, &rec) == -1) {
		strlcpy(err, "cannot write the public key", errlen);
		buf_clear(&rec);
		return -1;
	}
	buf_printf(out, "%s._domainkey.%s. IN TXT", selector, domain);
	for (off = 0; off < rec.len; off += n) {
		n = rec.len - off;
		if (n > DKIM_TXT_STRING_MAX)
			n = DKIM_TXT_STRING_MAX;
		buf_printf(out, " \"%.*s\"", (int)n, rec.data + off);
	}
	buf_append(out, "\n", 1);
	buf_clear(&rec);
	return 0;
}

/* --- canonicalization --- */

/* Where canonical bytes go: a hash or a buffer, through a small buffer. */
struct dkim_sink {
	EVP_MD_CTX	*md;		/* NULL: append to out */
	struct buf	*out;
	size_t		 n;
	unsigned char	 pend[4096];
};

static void
dkim_sink_flush(struct dkim_sink *s)
{
	if (s->n == 0)
		return;
	if (s->md != NULL)
		(void)EVP_DigestUpdate(s->md, s->pend, s->n);
	else
		buf_append(s->out, s->pend, s->n);
	s->n = 0;
}

static void
dkim_sink_put(struct dkim_sink *s, unsigned char c)
{
	if (s->n == sizeof(s->pend))
		dkim_sink_flush(s);
	s->pend[s->n++] = c;
}

/*
 * RFC 6376 3.4.2 on one field: the name in lower case without the WSP
 * before the colon; the value unfolded (an LF and a CR before it dropped),
 * WSP runs made one SP, none at either end; CRLF.
 */
static void
dkim_canon_field(struct dkim_sink *s, const unsigned char *p, size_t len)
{
	const unsigned char *colon = memchr(p, ':', len);
	size_t namelen = colon != NULL ? (size_t)(colon - p) : len, i;
	bool space = false, any = false;

	/* A malformed name may hold line ends; they go as folds do. */
	while (namelen > 0 && (dkim_is_wsp(p[namelen - 1]) ||
	    p[namelen - 1] == '\r' || p[namelen - 1] == '\n'))
		namelen--;
	for (i = 0; i < namelen; i++)
		if (p[i] != '\r' && p[i] != '\n')
			dkim_sink_put(s, dkim_lower(p[i]));
	dkim_sink_put(s, ':');
	for (i = colon != NULL ? (size_t)(colon - p) + 1 : len; i < len; i++) {
		if (p[i] == '\n' ||
		    (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n'))
			continue;
		if (dkim_is_wsp(p[i])) {
			space = true;
			continue;
		}
		if (space && any)
			dkim_sink_put(s, ' ');
		space = false;
		any = true;
		dkim_sink_put(s, p[i]);
	}
	dkim_sink_put(s, '\r');
	dkim_sink_put(s, '\n');
}

/*
 * RFC 6376 3.4.4: each line (ended by LF, a CR before it dropped, or by
 * the end of the body) without trailing WSP and with WSP runs made one SP,
 * then CRLF; empty lines are held back until a non-empty line follows, so
 * that those at the end are dropped.
 */
static void
dkim_canon_body_sink(struct dkim_sink *s, const unsigned char *p,
    size_t len)
{
	size_t i = 0, end, empty = 0;
	bool space, any;

	while (i < len) {
		const unsigned char *lf = memchr(p + i, '\n', len - i);

		end = lf != NULL ? (size_t)(lf - p) : len;
		space = any = false;
		for (; i < end; i++) {
			if (p[i] == '\r' && i + 1 == end && lf != NULL)
				break;
			if (dkim_is_wsp(p[i])) {
				space = true;
				continue;
			}
			for (; !any && empty > 0; empty--) {
				dkim_sink_put(s, '\r');
				dkim_sink_put(s, '\n');
			}
			if (space)
				dkim_sink_put(s, ' ');
			space = false;
			any = true;
			dkim_sink_put(s, p[i]);
		}
		if (any) {
			dkim_sink_put(s, '\r');
			dkim_sink_put(s, '\n');
		} else
			empty++;
		i = end + 1;
	}
}

void
dkim_canon_header(const void *field, size_t len, struct buf *out)
{
	struct dkim_sink s = { .md = NULL, .out = out, .n = 0 };

	dkim_canon_field(&s, len > 0 ? field : (const void *)"", len);
	dkim_sink_flush(&s);
}

void
dkim_canon_body(const void *p, size_t len, struct buf *out)
{
	struct dkim_sink s = { .md = NULL, .out = out, .n = 0 };

	if (len > 0)
		dkim_canon_body_sink(&s, p, len);
	dkim_sink_flush(&s);
}

/* --- the message --- */

/*
 * Splits the header into fields (a line that starts with WSP continues
 * the field before it; one before any field is ignored) and finds where
 * the body starts: after the first empty line, or nowhere (*body_r = len).
 * Returns the number of fields in *fields_r (malloc'd).
 */
static size_t
dkim_fields(const unsigned char *p, size_t len, struct dkim_field **fields_r,
    size_t *body_r)
{
	struct dkim_field *f = NULL, *cur = NULL;
	size_t n = 0, cap = 0, i = 0, next, k;
	const unsigned char *lf, *colon;

	*body_r = len;
	while (i < len) {
		lf = memchr(p + i, '\n', len - i);
		next = lf != NULL ? (size_t)(lf - p) + 1 : len;
		if (p[i] == '\n' || (p[i] == '\r' && next == i + 2 &&
		    lf != NULL)) {
			*body_r = next;
			break;
		}
		if (dkim_is_wsp(p[i])) {
			if (cur != NULL)
				cur->len = next - (size_t)(cur->p -
				    (const char *)p);
			i = next;
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 32 : cap * 2;
			f = xreallocarray(f, cap, sizeof(*f));
		}
		cur = &f[n++];
		cur->p = (const char *)p + i;
		cur->len = next - i;
		colon = memchr(p + i, ':', next - i);
		k = colon != NULL ? (size_t)(colon - (p + i)) : 0;
		while (k > 0 && dkim_is_wsp(p[i + k - 1]))
			k--;
		cur->namelen = k;
		i = next;
	}
	*fields_r = f;
	return n;
}

static bool
dkim_field_is(const struct dkim_field *f, const char *name)
{
	return strlen(name) == f->namelen &&
	    strncasecmp(f->p, name, f->namelen) == 0;
}

static bool
dkim_is_oversigned(const char *name)
{
	size_t i;

	for (i = 0; i < DKIM_NITEMS(dkim_oversigned); i++)
		if (strcasecmp(dkim_oversigned[i], name) == 0)
			return true;
	return false;
}

/* --- the signature field --- */

/* Writes a header field folded at DKIM_FOLD_COLS columns. */
struct dkim_fold {
	struct buf	*b;
	size_t		 col;
};

/* Appends a word, after a space or not, on a new line if it does not fit. */
static void
dkim_fold_add(struct dkim_fold *f, const char *s, size_t n, bool space)
{
	if (f->col > 1 && f->col + (space ? 1 : 0) + n > DKIM_FOLD_COLS) {
		buf_append(f->b, "\r\n ", 3);
		f->col = 1;
	} else if (space) {
		buf_append(f->b, " ", 1);
		f->col++;
	}
	buf_append(f->b, s, n);
	f->col += n;
}

/* Appends a base64 value that may be broken anywhere (RFC 6376 2.4). */
static void
dkim_fold_base64(struct dkim_fold *f, const char *s, size_t n)
{
	size_t room;

	while (n > 0) {
		if (f->col >= DKIM_FOLD_COLS) {
			buf_append(f->b, "\r\n ", 3);
			f->col = 1;
		}
		room = DKIM_FOLD_COLS - f->col;
		if (room > n)
			room = n;
		buf_append(f->b, s, room);
		f->col += room;
		s += room;
		n -= room;
	}
}

static void
dkim_fold_tag(struct dkim_fold *f, const char *fmt, const char *v)
{
	char word[DKIM_DOMAIN_MAX + 16];
	int n;

	n = snprintf(word, sizeof(word), fmt, v);
	dkim_fold_add(f, word, (size_t)n, true);
}

/*
 * Writes h= (RFC 6376 3.5) and hashes the fields it names in its order
 * (RFC 6376 3.7 step 2.1): each name of dkim_signed as many times as it
 * occurs, instances from the bottom up (5.4.2), and once more for the
 * oversigned ones, which stands for no field at all (5.4).
 */
static void
dkim_headers(struct dkim_fold *fo, struct dkim_sink *s,
    const struct dkim_field *f, size_t nf)
{
	char word[64];
	size_t i, j, count;
	bool first = true;
	int n;

	for (i = 0; i < DKIM_NITEMS(dkim_signed); i++) {
		count = 0;
		for (j = nf; j-- > 0;) {
			if (!dkim_field_is(&f[j], dkim_signed[i]))
				continue;
			dkim_canon_field(s, (const unsigned char *)f[j].p,
			    f[j].len);
			count++;
		}
		if (dkim_is_oversigned(dkim_signed[i]))
			count++;
		for (; count > 0; count--) {
			n = snprintf(word, sizeof(word), "%s", first ? "h=" :
			    "");
			for (j = 0; dkim_signed[i][j] != '\0'; j++)
				word[n++] = (char)dkim_lower(
				    (unsigned char)dkim_signed[i][j]);
			word[n++] = ':';
			dkim_fold_add(fo, word, (size_t)n, first);
			first = false;
		}
	}
	/* The last name ends with ';', not ':'. */
	fo->b->data[fo->b->len - 1] = ';';
}

/* The hash of the canonical body, in base64 (RFC 6376 3.7 step 1). */
static int
dkim_body_hash(const unsigned char *body, size_t len, char *bh, size_t bhsize)
{
	struct dkim_sink s = { .out = NULL, .n = 0 };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int ok;

	if ((s.md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(s.md, EVP_sha256(), NULL);
	if (ok && len > 0)
		dkim_canon_body_sink(&s, body, len);
	dkim_sink_flush(&s);
	ok = ok && EVP_DigestFinal_ex(s.md, md, &mdlen);
	EVP_MD_CTX_free(s.md);
	if (!ok || bhsize < (mdlen + 2) / 3 * 4 + 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)bh, md, (int)mdlen);
	return 0;
}

/*
 * Signs the SHA-256 digest of the header data: RSASSA-PKCS1-v1_5 over
 * it (RFC 6376 3.3.1), or PureEdDSA over its 32 bytes (RFC 8463 3).
 * Appends the signature in base64 to out.
 */
static int
dkim_sign_digest(const struct dkim_key *k, const unsigned char *md,
    struct buf *out)
{
	unsigned char sig[DKIM_RSA_MAX_BITS / 8];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	int ok;

	if (k->alg == DKIM_ED25519_SHA256) {
		ok = (mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL,
		    k->pkey, NULL) == 1 &&
		    EVP_DigestSign(mctx, sig, &siglen, md,
		    DKIM_SHA256_LEN) == 1;
		EVP_MD_CTX_free(mctx);
	} else {
		ok = (pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey,
		    NULL)) != NULL && EVP_PKEY_sign_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(pctx, sig, &siglen, md,
		    DKIM_SHA256_LEN) == 1;
		EVP_PKEY_CTX_free(pctx);
	}
	if (!ok)
		return -1;
	dkim_base64(out, sig, siglen);
	return 0;
}

/*
 * Hashes the fields and the signature field so far (which ends in "b=";
 * RFC 6376 3.7 step 2.2: canonicalized, without its CRLF), signs, and
 * appends the signature folded, and CRLF.
 */
static int
dkim_finish(const struct dkim_key *k, struct dkim_fold *fo,
    struct dkim_sink *s, size_t start)
{
	struct buf canon = BUF_INIT, sig = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int r = -1;

	dkim_canon_header(fo->b->data + start, fo->b->len - start, &canon);
	dkim_sink_flush(s);
	if (EVP_DigestUpdate(s->md, canon.data, canon.len - 2) == 1 &&
	    EVP_DigestFinal_ex(s->md, md, &mdlen) == 1 &&
	    mdlen == DKIM_SHA256_LEN && dkim_sign_digest(k, md, &sig) == 0) {
		dkim_fold_base64(fo, (const char *)sig.data, sig.len);
		buf_append(fo->b, "\r\n", 2);
		r = 0;
	}
	buf_clear(&canon);
	buf_clear(&sig);
	return r;
}

static int
dkim_sign_fields(const struct dkim_key *k, const char *domain,
    const char *selector, const struct dkim_field *f, size_t nf,
    const char *bh, time_t now, struct buf *out)
{
	struct dkim_sink s = { .out = NULL, .n = 0 };
	struct dkim_fold fo = { .b = out };
	char t[32];
	size_t start = out->len;
	int r = -1;

	if ((s.md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1)
		goto done;
	buf_append(out, "DKIM-Signature:", 15);
	fo.col = 15;
	dkim_fold_add(&fo, "v=1;", 4, true);
	dkim_fold_tag(&fo, "a=%s;", k->alg == DKIM_RSA_SHA256 ?
	    "rsa-sha256" : "ed25519-sha256");
	dkim_fold_add(&fo, "c=relaxed/relaxed;", 18, true);
	dkim_fold_tag(&fo, "d=%s;", domain);
	dkim_fold_tag(&fo, "s=%s;", selector);
	snprintf(t, sizeof(t), "%lld", (long long)now);
	dkim_fold_tag(&fo, "t=%s;", t);
	dkim_headers(&fo, &s, f, nf);
	dkim_fold_tag(&fo, "bh=%s;", bh);
	dkim_fold_add(&fo, "b=", 2, true);
	r = dkim_finish(k, &fo, &s, start);
done:
	EVP_MD_CTX_free(s.md);
	return r;
}

int
dkim_sign(const struct dkim_key *k, const char *domain, const char *selector,
    const void *msg, size_t len, time_t now, struct buf *header_out,
    char *err, size_t errlen)
{
	const unsigned char *p = len > 0 ? msg : (const unsigned char *)"";
	struct dkim_field *f = NULL;
	struct buf out = BUF_INIT;
	char bh[64];
	size_t nf, body, i;
	bool from = false;
	int r = -1;

	if (dkim_name_check(domain, "domain", err, errlen) == -1 ||
	    dkim_name_check(selector, "selector", err, errlen) == -1)
		return -1;
	if (now < 0) {
		strlcpy(err, "signing time before 1970", errlen);
		return -1;
	}
	ERR_clear_error();
	nf = dkim_fields(p, len, &f, &body);
	for (i = 0; i < nf && !from; i++)
		from = dkim_field_is(&f[i], "From");
	if (!from)
		strlcpy(err, "the message has no From field", errlen);
	else if (dkim_body_hash(p + body, len - body, bh, sizeof(bh)) == -1 ||
	    dkim_sign_fields(k, domain, selector, f, nf, bh, now, &out) == -1)
		dkim_ssl_err(err, errlen, "cannot sign");
	else {
		buf_append(header_out, out.data, out.len);
		r = 0;
	}
	free(f);
	buf_clear(&out);
	return r;
}
