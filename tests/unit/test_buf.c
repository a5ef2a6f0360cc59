/* SPDX-License-Identifier: ISC */
/*
 * test_buf.c: lib/buf.c's growth, with and without wiping: the bytes in
 * the buffer survive every growth, whether it slides, copies or reallocs,
 * and whatever was consumed from the front.
 */
#include "buf.h"
#include "harness.h"

#include <stdlib.h>

/* Byte i of the pattern that test writes. */
static uint8_t
pat(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 9));
}

/* Whether [data, data + len) holds the pattern from byte `from` on. */
static int
holds(const struct buf *b, size_t from)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->data[i] != pat(from + i))
			return 0;
	return 1;
}

static void
grow_keeps_bytes(bool nowipe)
{
	struct buf b = BUF_INIT;
	uint8_t chunk[1000];
	size_t written = 0, consumed = 0, i, round;

	b.nowipe = nowipe;
	/* Past glibc's mmap threshold, so realloc moves mapped pages too. */
	for (round = 0; round < 3000; round++) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = pat(written + i);
		buf_append(&b, chunk, sizeof(chunk));
		written += sizeof(chunk);
		if (round % 7 == 3) {
			/* Leave a consumed front behind the next growth. */
			buf_consume(&b, 333);
			consumed += 333;
		}
		CHECK_INT(b.len, written - consumed);
		CHECK(b.data >= b.base);
		CHECK((size_t)(b.data - b.base) + b.len <= b.cap);
		if (!holds(&b, consumed)) {
			CHECK(!"bytes lost in growth");
			break;
		}
	}
	CHECK(b.len > 2u * 1024 * 1024);
	buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK(b.data == b.base);
	buf_clear(&b);
	CHECK(b.base == NULL);
}

TEST(grow_wiped)
{
	grow_keeps_bytes(false);
}

TEST(grow_nowipe_reallocs)
{
	grow_keeps_bytes(true);
}

int
main(int argc, char **argv)
{
	static const struct harness_test tests[] = {
		TEST_ENTRY(grow_wiped),
		TEST_ENTRY(grow_nowipe_reallocs),
	};

	return harness_main(argc, argv, tests,
	    sizeof(tests) / sizeof(tests[0]));
}
