/* SPDX-License-Identifier: ISC */
/*
 * harness.h: the unit test harness.  A test file defines functions declared
 * with TEST(name) and lists them in a `tests[]` table passed to
 * harness_main().  CHECK* macros record a failure with file:line and both
 * values and let the test go on.  The run ends with the line
 * `N passed, N failed` (one test counts as failed if any check in it failed).
 */
#ifndef BULWARK_HARNESS_H
#define BULWARK_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct harness_test {
	const char	*name;
	void		(*fn)(void);
};

#define TEST(name)	static void name(void)
#define TEST_ENTRY(name)	{ #name, name }

void	harness_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Runs the tests given by name on the command line, or all; returns exit status. */
int	harness_main(int argc, char **argv, const struct harness_test *tests,
	    size_t ntests);
/* Checks failed so far in this process (a forked child's own verdict). */
int	harness_failed_count(void);
/* A fresh temporary directory for this test run, removed at exit. */
const char *harness_tmpdir(void);
/*
 * The shared corpus (../shared/mail-corpus, or $BULWARK_CORPUS): its
 * directory, or NULL; harness_corpus_missing then fails the test under CI
 * (CI=true) and says why it is skipped otherwise.
 */
const char *harness_corpus_dir(void);
void	harness_corpus_missing(const char *what);
/*
 * Opens the corpus's MANIFEST.tsv (*dir_r its directory); NULL when the
 * corpus is missing (harness_corpus_missing has said so) or the manifest
 * does not open (a failure).  harness_corpus_next reads the next message's
 * file name into line (size bytes); false at the end.
 */
FILE	*harness_corpus_manifest(const char **dir_r);
bool	harness_corpus_next(FILE *fp, char *line, size_t size);
/* A whole file, malloc'd (*len its size), or NULL. */
char	*harness_slurp(const char *path, size_t *len);

#define CHECK(cond) do {						\
	if (!(cond))							\
		harness_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);	\
} while (0)

#define CHECK_INT(a, b) do {						\
	long long a_ = (long long)(a), b_ = (long long)(b);		\
	if (a_ != b_)							\
		harness_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
		    #a, #b, a_, b_);					\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *a_ = (a), *b_ = (b);				\
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)		\
		harness_fail(__FILE__, __LINE__,			\
		    "%s == %s: \"%s\" != \"%s\"", #a, #b,		\
		    a_ ? a_ : "(null)", b_ ? b_ : "(null)");		\
} while (0)

#define HARNESS_MAIN(tests)						\
int									\
main(int argc, char **argv)						\
{									\
	return harness_main(argc, argv, tests,				\
	    sizeof(tests) / sizeof(tests[0]));				\
}

#endif
