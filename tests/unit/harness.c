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

const char *
harness_corpus_dir(void)
{
	static const char *const tries[] = {
		"../shared/mail-corpus", "../../shared/mail-corpus",
	};
	static char path[1024];
	const char *env = getenv("BULWARK_CORPUS");
	size_t i;
	FILE *fp;

	for (i = 0; i < 3; i++) {
		const char *d = i == 0 ? env : tries[i - 1];

		if (d == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/SOURCES.md", d);
		if ((fp = fopen(path, "r")) != NULL) {
			fclose(fp);
			snprintf(path, sizeof(path), "%s", d);
			return path;
		}
	}
	return NULL;
}

char *
harness_slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *p;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	p = malloc(n > 0 ? (size_t)n : 1);
	if (n > 0 && fread(p, 1, (size_t)n, fp) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(fp);
	*len = (size_t)n;
	return p;
}

void
harness_corpus_missing(const char *what)
{
	const char *ci = getenv("CI");

	if (ci != NULL && strcmp(ci, "true") == 0) {
		harness_fail(__FILE__, __LINE__, "%s missing under CI", what);
		return;
	}
	printf("skip: %s not found (set BULWARK_CORPUS)\n", what);
}

FILE *
harness_corpus_manifest(const char **dir_r)
{
	char path[1100];
	FILE *fp;

	if ((*dir_r = harness_corpus_dir()) == NULL) {
		harness_corpus_missing("../shared/mail-corpus");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", *dir_r);
	if ((fp = fopen(path, "r")) == NULL)
		harness_fail(__FILE__, __LINE__, "no %s", path);
	return fp;
}

bool
harness_corpus_next(FILE *fp, char *line, size_t size)
{
	char *tab;

	while (fgets(line, (int)size, fp) != NULL) {
		if ((tab = strchr(line, '\t')) == NULL ||
		    strstr(line, ".eml") == NULL)
			continue;
		*tab = '\0';
		return true;
	}
	return false;
}
