/* SPDX-License-Identifier: ISC */
/*
 * lmtp_relay_smtp.c: the parts of the relay's SMTP client that hold no
 * connection: reply lines (RFC 5321 4.2), the retry delays, the TLS
 * client context and connection (RFC 3207, names checked as RFC 6125
 * 6 says), and SMTP AUTH (RFC 4954): the mechanisms an EHLO reply
 * offers, and the client's messages for PLAIN (RFC 4616) and LOGIN
 * (draft-murchison-sasl-login, which servers that lack PLAIN still
 * speak).  The credential is RFC 4616's message, NUL user NUL password,
 * as storaged hands it over (RELAY_TAKE).
 */
#include "lmtp_relay.h"
#include "buf.h"
#include "compat.h"
#include "log.h"
#include "tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

/* Appends the base64 of [p, p + len) (RFC 4648 4, padded). */
static void
auth_b64(struct buf *out, const uint8_t *p, size_t len)
{
	size_t n = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *dst;

	buf_reserve(out, n);
	dst = (char *)buf_tail(out);
	sodium_bin2base64(dst, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	buf_commit(out, n - 1);	/* without its NUL */
}

/*
 * RFC 4954 3: "AUTH" SP mechanism names, or "AUTH=" in the older form
 * some servers still send, after the reply code and its separator.
 */
unsigned
lmtp_relay_auth_mechs(const char *line)
{
	const char *p, *e;
	unsigned mechs = 0;
	size_t n;

	if (strlen(line) < 9 || strncasecmp(line + 4, "AUTH", 4) != 0 ||
	    (line[8] != ' ' && line[8] != '='))
		return 0;
	for (p = line + 9; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			;
		n = (size_t)(e - p);
		if (n == 5 && strncasecmp(p, "PLAIN", 5) == 0)
			mechs |= LMTP_RELAY_AUTH_PLAIN;
		else if (n == 5 && strncasecmp(p, "LOGIN", 5) == 0)
			mechs |= LMTP_RELAY_AUTH_LOGIN;
	}
	return mechs;
}

void
lmtp_relay_auth_plain(struct buf *out, const uint8_t *msg, size_t len)
{
	buf_append(out, "AUTH PLAIN ", 11);
	auth_b64(out, msg, len);
}

int
lmtp_relay_auth_login(struct buf *out, const uint8_t *msg, size_t len,
    int part)
{
	const uint8_t *user, *pass, *nul;
	size_t ulen;

	/* RFC 4616 2: [authzid] NUL authcid NUL passwd; ours has no authzid. */
	if (len < 3 || msg[0] != '\0' ||
	    (nul = memchr(msg + 1, '\0', len - 1)) == NULL)
		return -1;
	user = msg + 1;
	ulen = (size_t)(nul - user);
	pass = nul + 1;
	if (ulen == 0 || pass == msg + len ||
	    memchr(pass, '\0', (size_t)(msg + len - pass)) != NULL)
		return -1;
	if (part == 1)
		auth_b64(out, user, ulen);
	else
		auth_b64(out, pass, (size_t)(msg + len - pass));
	return 0;
}

int
lmtp_relay_reply_line(const char *line, size_t len, bool *more)
{
	int code;

	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || line[2] < '0' || line[2] > '9')
		return -1;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
	if (len == 3) {
		*more = false;
		return code;
	}
	if (line[3] != ' ' && line[3] != '-')
		return -1;
	*more = line[3] == '-';
	return code;
}

uint64_t
lmtp_relay_backoff(unsigned attempt)
{
	static const uint64_t delays[] = {
		5 * 60, 30 * 60, 2 * 3600, 4 * 3600, 8 * 3600,
	};
	size_t n = sizeof(delays) / sizeof(delays[0]);

	if (attempt == 0)
		attempt = 1;
	return delays[attempt - 1 < n ? attempt - 1 : n - 1];
}

SSL_CTX *
lmtp_relay_tls_ctx_new(bool verify, const uint8_t *ca, size_t calen,
    char *err, size_t errlen)
{
	const char *file = X509_get_default_cert_file();
	SSL_CTX *ctx;
	char why[256];
	int n;

	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_LOAD_CONFIG, NULL);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		strlcpy(err, "SSL_CTX_new failed", errlen);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	if (!verify) {
		/* RFC 3207 4.1: opportunistic STARTTLS does not verify. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (calen > 0) {
		/* relay { ca }: these, not the system's. */
		if ((n = tls_trust_pem(ctx, ca, calen, why,
		    sizeof(why))) == -1) {
			SSL_CTX_free(ctx);
			snprintf(err, errlen, "ca: %s", why);
			return NULL;
		}
		log_info("relay ca certificates=%d", n);
		return ctx;
	}
	/*
	 * The whole bundle now: a hashed directory would be read at each
	 * verification, from a chroot that has no /etc/ssl.
	 */
	if (SSL_CTX_load_verify_locations(ctx, file, NULL) != 1) {
		tls_error_string(0, why, sizeof(why));
		log_warnx("relay cafile=%s cannot be loaded: %s; no server "
		    "will be trusted", file, why);
	}
	return ctx;
}

SSL *
lmtp_relay_ssl_new(SSL_CTX *ctx, const char *host, bool verify)
{
	unsigned char ip[sizeof(struct in6_addr)];
	bool literal;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	literal = inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1;
	if (!literal)
		(void)SSL_set_tlsext_host_name(ssl, host);
	/* RFC 6125 6: the name configured, not the one resolved. */
	if (verify && (literal ?
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 :
	    SSL_set1_host(ssl, host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}
