/* SPDX-License-Identifier: ISC */
/*
 * fuzz_imap_parse.c: libFuzzer target for imapd's command reader and
 * parser.  The input is a client's byte stream (after two bytes that choose
 * the limits, the chunk size and which literals are accepted).  It is framed
 * twice, all at once and in chunks, and both must report the same commands,
 * literals and limits at the same places and consume the same bytes;
 * every complete command is then parsed as a tag, a command name and
 * arguments of the basic kinds, and every string the parser returns must
 * come back unchanged through the response writer and the parser again.
 * Nothing may read out of bounds, leak or crash.
 */
/* fuzz-deps: workers/imapd/imap_parse.c */
#include "buf.h"
#include "workers/imapd/imap_parse.h"
#include "imap_resp.h"

#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_event {
	enum imap_read_ev	 ev;
	size_t			 end;	/* offset in the stream where it ends */
	uint64_t		 literal;
};

struct fz_run {
	struct fz_event		*evs;
	size_t			 n, cap;
	size_t			 consumed;	/* bytes removed in the end */
};

static void
fz_record(struct fz_run *run, enum imap_read_ev ev, size_t end,
    uint64_t literal)
{
	if (run->n == run->cap) {
		run->cap = run->cap ? run->cap * 2 : 64;
		run->evs = realloc(run->evs, run->cap * sizeof(*run->evs));
		if (run->evs == NULL)
			abort();
	}
	run->evs[run->n].ev = ev;
	run->evs[run->n].end = end;
	run->evs[run->n].literal = literal;
	run->n++;
}

/* Writes s with the response writer and parses it back. */
static void
fz_round_trip(const struct imap_str *s, unsigned flags)
{
	struct imap_parser ps;
	struct imap_str back;
	struct buf b = BUF_INIT;

	if (s->p == NULL)
		return;
	imap_resp_astring(&b, s->p, s->len, flags);
	imap_resp_crlf(&b);
	imap_parser_init(&ps, b.data, b.len);
	if (imap_parse_astring(&ps, &back) == -1 ||
	    imap_parse_eol(&ps) == -1 || back.len != s->len ||
	    memcmp(back.p, s->p, s->len) != 0)
		abort();
	buf_clear(&b);
}

/* Parses one command the way handlers do, with argument kinds by sel. */
static void
fz_parse(const uint8_t *cmd, size_t len, uint8_t sel)
{
	struct imap_parser ps;
	struct imap_str tag, name, s;
	uint8_t *copy;
	uint32_t n;
	unsigned i;

	/* An exact copy, so that a read past the command is caught. */
	if ((copy = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	memcpy(copy, cmd, len);
	imap_parser_init(&ps, copy, len);
	if (imap_parse_tag(&ps, &tag) == 0 && !imap_parse_at_eol(&ps) &&
	    imap_parse_sp(&ps) == 0 && imap_parse_atom(&ps, &name) == 0) {
		for (i = 0; !imap_parse_at_eol(&ps) && i < 64; i++) {
			if (imap_parse_sp(&ps) == -1)
				break;
			switch ((sel >> (i % 4 * 2)) & 3) {
			case 0:
				if (imap_parse_astring(&ps, &s) == 0)
					fz_round_trip(&s, i & 1);
				break;
			case 1:
				if (imap_parse_nstring(&ps, &s) == 0)
					fz_round_trip(&s, i & 1);
				break;
			case 2:
				(void)imap_parse_number(&ps, &n);
				break;
			default:
				(void)imap_parse_base64(&ps, &s);
				break;
			}
			if (ps.error != NULL)
				break;
		}
		(void)imap_parse_eol(&ps);
	}
	free(copy);
}

/*
 * Frames data[0..size) fed step bytes at a time (0: at once), accepting
 * literals of at most accept bytes; parses the commands if parse is set.
 */
static void
fz_frame(const uint8_t *data, size_t size, size_t step, uint64_t accept,
    size_t max_line, bool line_mode, uint8_t sel, bool parse,
    struct fz_run *run)
{
	struct imap_reader r;
	struct imap_read rd;
	size_t fed = 0, off = 0;

	imap_reader_init(&r, max_line, max_line * 4);
	imap_reader_set_line_mode(&r, line_mode);
	for (;;) {
		switch (imap_reader_scan(&r, data + off, fed - off, &rd)) {
		case IMAP_READ_MORE:
			if (rd.len > fed - off)
				abort();
			if (fed == size) {
				run->consumed = off;
				return;
			}
			fed = step == 0 || size - fed < step ? size :
			    fed + step;
			break;
		case IMAP_READ_COMMAND:
			if (rd.len == 0 || rd.len > fed - off ||
			    data[off + rd.len - 1] != '\n')
				abort();
			if (parse)
				fz_parse(data + off, rd.len, sel);
			off += rd.len;
			fz_record(run, rd.ev, off, 0);
			break;
		case IMAP_READ_SKIP:
			/* Reported as input arrives: not compared. */
			if (rd.len == 0 || rd.len > fed - off)
				abort();
			off += rd.len;
			break;
		case IMAP_READ_TOOLONG:
			fz_record(run, rd.ev, off + rd.len, 0);
			break;
		case IMAP_READ_LITERAL:
			fz_record(run, rd.ev, off + rd.len, rd.literal);
			imap_reader_literal(&r, rd.literal <= accept);
			break;
		case IMAP_READ_DIVERT:
			/* Only a literal accepted with divert is diverted. */
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_run whole = { NULL, 0, 0, 0 }, chunked = { NULL, 0, 0, 0 };
	size_t i, max_line, step;
	uint64_t accept;
	bool line_mode;
	uint8_t sel;

	if (size < 2)
		return 0;
	max_line = 16 + data[0];
	line_mode = (data[1] & 0x80) != 0;
	accept = (data[1] & 0x70) * 2;		/* 0 .. 224 */
	step = 1 + (data[1] & 0x0f);
	sel = data[0] ^ data[1];
	data += 2;
	size -= 2;
	fz_frame(data, size, 0, accept, max_line, line_mode, sel, true,
	    &whole);
	fz_frame(data, size, step, accept, max_line, line_mode, sel, false,
	    &chunked);
	if (whole.n != chunked.n || whole.consumed != chunked.consumed)
		abort();
	for (i = 0; i < whole.n; i++) {
		if (whole.evs[i].ev != chunked.evs[i].ev ||
		    whole.evs[i].end != chunked.evs[i].end ||
		    whole.evs[i].literal != chunked.evs[i].literal)
			abort();
	}
	free(whole.evs);
	free(chunked.evs);
	return 0;
}
