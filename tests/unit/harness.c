/* SPDX-License-Identifier: ISC */
/*
 * harness.c: runs unit tests, counts checks, prints the summary line.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct {
	int	 failed_checks;
	char	 tmpdir[64];
} harness;

void
harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	harness.failed_checks++;
}

static void
harness_rmtmp(void)
{
	char cmd[128];

	if (harness.tmpdir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", harness.tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: could not remove %s\n",
		    harness.tmpdir);
}

const char *
harness_tmpdir(void)
{
	if (harness.tmpdir[0] == '\0') {
		snprintf(harness.tmpdir, sizeof(harness.tmpdir),
		    "/tmp/bulwark-unit.XXXXXX");
		if (mkdtemp(harness.tmpdir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
		atexit(harness_rmtmp);
	}
	return harness.tmpdir;
}

int
harness_failed_count(void)
{
	return harness.failed_checks;
}

int
harness_main(int argc, char **argv, const struct harness_test *tests,
    size_t ntests)
{
	int passed = 0, failed = 0, before, i;
	size_t t;

	for (t = 0; t < ntests; t++) {
		if (argc > 1) {
			for (i = 1; i < argc; i++)
				if (strcmp(argv[i], tests[t].name) == 0)
					break;
			if (i == argc)
				continue;
		}
		before = harness.failed_checks;
		tests[t].fn();
		if (harness.failed_checks == before) {
			passed++;
			printf("ok %s\n", tests[t].name);
		} else {
			failed++;
			printf("FAIL %s\n", tests[t].name);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
