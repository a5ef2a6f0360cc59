/* SPDX-License-Identifier: ISC */
/*
 * test_http_encode.c: jmapd's content codings (workers/jmapd/
 * http_encode.c): Accept-Encoding negotiation of gzip with qvalues and
 * "*" (RFC 9110 12.5.3), and gzip output that zlib reads back.
 */
/* unit-deps: workers/jmapd/http_encode.c */
#include "harness.h"
#include "buf.h"
#include "workers/jmapd/http_encode.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

TEST(test_accepts_gzip)
{
	CHECK(!http_accepts_gzip(NULL));
	CHECK(!http_accepts_gzip(""));
	CHECK(http_accepts_gzip("gzip"));
	CHECK(http_accepts_gzip("GZIP"));
	CHECK(http_accepts_gzip("x-gzip"));
	CHECK(http_accepts_gzip("deflate, gzip"));
	CHECK(http_accepts_gzip("br;q=1.0, gzip;q=0.5"));
	CHECK(http_accepts_gzip("gzip ; q=0.001"));
	CHECK(!http_accepts_gzip("gzip;q=0"));
	CHECK(!http_accepts_gzip("gzip;q=0.000"));
	CHECK(!http_accepts_gzip("gzip;q=0, *"));
	CHECK(http_accepts_gzip("*"));
	CHECK(http_accepts_gzip("identity;q=0.5, *;q=0.1"));
	CHECK(!http_accepts_gzip("*;q=0"));
	CHECK(!http_accepts_gzip("*, gzip;q=0"));
	CHECK(!http_accepts_gzip("identity"));
	CHECK(!http_accepts_gzip("gzipx, xgzip, gzi"));
	/* Malformed qvalues count as 0. */
	CHECK(!http_accepts_gzip("gzip;q=2"));
	CHECK(!http_accepts_gzip("gzip;q=1.5"));
	CHECK(!http_accepts_gzip("gzip;q=0.1234"));
	CHECK(!http_accepts_gzip("gzip;level=1"));
	CHECK(http_accepts_gzip("gzip;q=1.000"));
	/* The highest weight of gzip and x-gzip wins. */
	CHECK(http_accepts_gzip("gzip;q=0, x-gzip"));
}

TEST(test_gzip_round_trip)
{
	struct buf out = BUF_INIT;
	uint8_t back[20000];
	char in[12000];
	z_stream z;
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = "{\"abc\":[1,2,3]}"[i % 15];
	buf_append(&out, "prefix", 6);
	CHECK_INT(http_gzip(&out, in, sizeof(in)), 0);
	CHECK(out.len > 6 + 18 && out.len < 1000);
	/* RFC 1952 2.3.1: ID1 ID2 CM. */
	CHECK(out.data[6] == 0x1f && out.data[7] == 0x8b && out.data[8] == 8);
	memset(&z, 0, sizeof(z));
	CHECK_INT(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = out.data + 6;
	z.avail_in = (uInt)(out.len - 6);
	z.next_out = back;
	z.avail_out = sizeof(back);
	CHECK_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
	CHECK_INT(sizeof(back) - z.avail_out, sizeof(in));
	CHECK(memcmp(back, in, sizeof(in)) == 0);
	inflateEnd(&z);
	/* Nothing in, a valid empty member out. */
	buf_reset(&out);
	CHECK_INT(http_gzip(&out, "", 0), 0);
	CHECK(out.len >= 20);
	buf_clear(&out);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(test_accepts_gzip),
	TEST_ENTRY(test_gzip_round_trip),
};

HARNESS_MAIN(tests)
