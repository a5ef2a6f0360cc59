/* SPDX-License-Identifier: ISC */
/*
 * bulwarkctl.c: main() of bulwarkctl(8).  Finds the command in the table,
 * checks its arguments, finds the admin socket (-s, else the `admin socket`
 * of the configuration file, else the compiled-in default) and runs the
 * command.  The exit status is 0, 1 when the store refused, 2 for usage,
 * configuration and connection errors.
 */
#include "ctl.h"
#include "compat.h"
#include "master/conf.h"
#include "log.h"
#include "xmalloc.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CTL_DEFAULT_SOCKET	BULWARK_RUNDIR "/admin.sock"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bulwarkctl [-f file] [-s socket] command "
	    "[argument ...]\n");
	ctl_cmd_usage(stderr, NULL);
	exit(CTL_EXIT_FAIL);
}

/*
 * Returns the admin socket path (malloc'd): -s, else the configuration's,
 * else the default when the default configuration file does not exist.
 * Returns NULL after reporting a configuration that cannot be loaded.
 */
static char *
ctl_socket_path(const char *sflag, const char *fflag)
{
	const char *file = fflag != NULL ? fflag : BULWARK_CONFFILE;
	struct conf_errors errs = { NULL, 0 };
	struct conf *conf = NULL;
	struct stat st;
	char *path;
	size_t i;

	if (sflag != NULL)
		return xstrdup(sflag);
	if (fflag == NULL && stat(file, &st) == -1 && errno == ENOENT)
		return xstrdup(CTL_DEFAULT_SOCKET);
	if (conf_load(file, &conf, &errs) == -1) {
		for (i = 0; i < errs.n; i++)
			ctl_warnx("%s", errs.msgs[i]);
		if (errs.n == 0)
			ctl_warnx("%s: cannot load the configuration", file);
		conf_errors_clear(&errs);
		return NULL;
	}
	path = xstrdup(conf->admin_socket != NULL ? conf->admin_socket :
	    CTL_DEFAULT_SOCKET);
	conf_free(&conf);
	return path;
}

/* Finds the command of argv[0] (and argv[1]) or exits with its usage. */
static const struct ctl_cmd *
ctl_cmd_lookup(int argc, char **argv)
{
	const struct ctl_cmd *cmd;

	if (!ctl_cmd_known(argv[0])) {
		ctl_warnx("unknown command: %s", argv[0]);
		usage();
	}
	if ((cmd = ctl_cmd_find(argv[0], argc > 1 ? argv[1] : NULL)) != NULL)
		return cmd;
	if (argc > 1)
		ctl_warnx("%s: unknown subcommand: %s", argv[0], argv[1]);
	else
		ctl_warnx("%s: missing subcommand", argv[0]);
	fprintf(stderr, "usage:\n");
	ctl_cmd_usage(stderr, argv[0]);
	exit(CTL_EXIT_FAIL);
}

int
main(int argc, char *argv[])
{
	const struct ctl_cmd *cmd;
	const char *fflag = NULL, *sflag = NULL;
	char err[CTL_NAME_MAX + 64], line[128], *sock = NULL;
	struct ctl_args a;
	int ch, skip, r;

	log_init("bulwarkctl", LOG_DEST_STDERR, 0);
	/*
	 * "+": stop at the command, whose own options come later; ":": say
	 * what was wrong ourselves.
	 */
	while ((ch = getopt(argc, argv, "+:f:s:")) != -1) {
		switch (ch) {
		case 'f':
			fflag = optarg;
			break;
		case 's':
			sflag = optarg;
			break;
		case ':':
			ctl_warnx("option -%c needs an argument", optopt);
			usage();
		default:
			ctl_warnx("unknown option -%c", optopt);
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	cmd = ctl_cmd_lookup(argc, argv);
	skip = cmd->sub != NULL ? 2 : 1;
	if (ctl_args_parse(cmd, argc - skip, argv + skip, &a, err,
	    sizeof(err)) == -1) {
		ctl_cmd_format_usage(cmd, line, sizeof(line));
		ctl_warnx("%s%s%s: %s", cmd->name, cmd->sub != NULL ? " " : "",
		    cmd->sub != NULL ? cmd->sub : "", err);
		fprintf(stderr, "usage: bulwarkctl %s\n", line);
		return CTL_EXIT_FAIL;
	}
	if (cmd->store && (sock = ctl_socket_path(sflag, fflag)) == NULL)
		return CTL_EXIT_FAIL;
	r = ctl_cmd_run(&a, sock);
	free(sock);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_warnx("standard output: %s", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	return r;
}
