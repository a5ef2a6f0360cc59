/* SPDX-License-Identifier: ISC */
/*
 * fuzz_conf.c: libFuzzer target for bulwark.conf(5).  Each input is parsed
 * from memory (so include reads nothing); whatever the bytes, nothing may
 * read out of bounds, leak or crash, every error must carry its place, and
 * a configuration that loads must dump to a text that loads back and dumps
 * the same: the canonical form is a fixed point.
 */
/* fuzz-deps: master/parse.c master/conf.c */
#include "master/conf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
dump(const struct conf *conf, size_t *len)
{
	char *text = NULL;
	FILE *fp;

	if ((fp = open_memstream(&text, len)) == NULL)
		abort();
	conf_dump(conf, fp);
	if (fclose(fp) != 0)
		abort();
	return text;
}

/* Loads text, which must be a dump, and checks it dumps the same. */
static void
check_dump(const char *text, size_t len)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *conf = NULL;
	size_t len2;
	char *text2;

	if (conf_load_mem("dump.conf", text, len, &conf, &errs) != 0) {
		fprintf(stderr, "dump does not load: %s\n%s", errs.msgs[0],
		    text);
		abort();
	}
	text2 = dump(conf, &len2);
	if (len2 != len || memcmp(text, text2, len) != 0) {
		fprintf(stderr, "dump differs:\n%s---\n%s", text, text2);
		abort();
	}
	free(text2);
	conf_free(&conf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *conf = NULL;
	size_t i, len;
	char *text;

	if (conf_load_mem("fuzz.conf", (const char *)data, size, &conf,
	    &errs) == 0) {
		if (errs.n != 0 || conf == NULL)
			abort();
		text = dump(conf, &len);
		check_dump(text, len);
		free(text);
		conf_free(&conf);
	} else if (conf != NULL || errs.n == 0 ||
	    errs.n > CONF_ERRORS_MAX + 1)
		abort();
	for (i = 0; i < errs.n; i++)
		if (strncmp(errs.msgs[i], "fuzz.conf:", 10) != 0)
			abort();
	conf_errors_clear(&errs);
	return 0;
}
