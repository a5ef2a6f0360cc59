/* SPDX-License-Identifier: ISC */
/*
 * ctl_passwd.c: reads a new password for bulwarkctl, never from argv (which
 * every user can read in /proc or ps).  On a terminal it prompts twice with
 * echo off, restoring the terminal if a signal ends the prompt; from a pipe
 * it reads one line, which is how scripts and tests give it.  The bytes go
 * through read(2) into the caller's buffer only, so no stdio buffer keeps a
 * copy nobody wipes.
 */
#include "ctl.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

/*
 * Set by the handler of a signal that arrives while echo is off; read(2)
 * then fails with EINTR and the prompt restores the terminal before the
 * signal is raised again.  A signal handler can only reach static state.
 */
static volatile sig_atomic_t ctl_passwd_signo;

static const int ctl_passwd_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM,
};
#define CTL_NSIGNALS \
	(sizeof(ctl_passwd_signals) / sizeof(ctl_passwd_signals[0]))

static void
ctl_passwd_sig_cb(int signo)
{
	ctl_passwd_signo = signo;
}

/* Reads one byte, retrying after signals that do not end the prompt. */
static ssize_t
ctl_passwd_getc(int fd, char *c)
{
	ssize_t n;

	do {
		n = read(fd, c, 1);
	} while (n == -1 && errno == EINTR && ctl_passwd_signo == 0);
	return n;
}

int
ctl_password_read_line(int fd, char *buf, size_t size,
    const char **error_r)
{
	size_t len = 0;
	ssize_t n;
	bool any = false;
	char c;

	*error_r = NULL;
	while ((n = ctl_passwd_getc(fd, &c)) == 1) {
		any = true;
		if (c == '\n')
			break;
		if (c == '\0')
			*error_r = "NUL byte in password";
		else if (len + 1 >= size)
			*error_r = "password too long";
		if (*error_r != NULL)
			break;
		buf[len++] = c;
	}
	c = '\0';
	if (*error_r == NULL && n == -1)
		*error_r = ctl_passwd_signo != 0 ? "interrupted" :
		    "cannot read the password";
	else if (*error_r == NULL && !any)
		*error_r = "no password on standard input";
	if (*error_r != NULL) {
		sodium_memzero(buf, size);
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return 0;
}

/* Prompts on stderr and reads one line from the terminal with echo off. */
static int
ctl_password_prompt(const char *prompt, char *buf, size_t size,
    const char **error_r)
{
	struct sigaction sa, old_sa[CTL_NSIGNALS];
	struct termios old, noecho;
	size_t i;
	int r;

	if (tcgetattr(STDIN_FILENO, &old) == -1) {
		*error_r = "cannot read the terminal settings";
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_passwd_sig_cb;	/* no SA_RESTART: read ends */
	sigemptyset(&sa.sa_mask);
	ctl_passwd_signo = 0;
	for (i = 0; i < CTL_NSIGNALS; i++)
		sigaction(ctl_passwd_signals[i], &sa, &old_sa[i]);
	noecho = old;
	noecho.c_lflag &= ~ECHO;
	noecho.c_lflag |= ECHONL;	/* only the newline shows */
	(void)!write(STDERR_FILENO, prompt, strlen(prompt));
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho) == -1) {
		*error_r = "cannot turn echo off";
		r = -1;
	} else {
		r = ctl_password_read_line(STDIN_FILENO, buf, size, error_r);
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	}
	for (i = 0; i < CTL_NSIGNALS; i++)
		sigaction(ctl_passwd_signals[i], &old_sa[i], NULL);
	if (ctl_passwd_signo != 0) {
		sodium_memzero(buf, size);
		raise(ctl_passwd_signo);
	}
	return r;
}

static int
ctl_password_tty(char *buf, size_t size, const char **error_r)
{
	char again[CTL_PASSWORD_MAX + 1];
	int r = -1;

	if (ctl_password_prompt("Password: ", buf, size, error_r) == -1)
		return -1;
	if (buf[0] == '\0')
		*error_r = "empty password";
	else if (ctl_password_prompt("Repeat password: ", again,
	    sizeof(again), error_r) == 0) {
		if (strcmp(buf, again) != 0)
			*error_r = "passwords do not match";
		else
			r = 0;
	}
	sodium_memzero(again, sizeof(again));
	if (r == -1)
		sodium_memzero(buf, size);
	return r;
}

int
ctl_password_read(char *buf, size_t size, const char **error_r)
{
	if (size > CTL_PASSWORD_MAX + 1)
		size = CTL_PASSWORD_MAX + 1;
	if (isatty(STDIN_FILENO))
		return ctl_password_tty(buf, size, error_r);
	if (ctl_password_read_line(STDIN_FILENO, buf, size, error_r) == -1)
		return -1;
	if (buf[0] == '\0') {
		*error_r = "empty password";
		return -1;
	}
	return 0;
}
