/* SPDX-License-Identifier: ISC */
/*
 * listen.c: binding TCP and Unix listening sockets for the children.
 * Sockets are non-blocking: the flag belongs to the open file that every
 * process of a kind shares, and a process woken for a connection that
 * another one took must get EAGAIN, not block in accept.
 */
#include "listen.h"
#include "compat.h"
#include "log.h"
#include "xmalloc.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LISTEN_BACKLOG	1024

static char listen_error[512];

static bool
listen_same(const struct listen_sock *s, const struct conf_listener *l,
    const char *proto)
{
	if (strcmp(s->proto, proto) != 0 || s->l.is_unix != l->is_unix)
		return false;
	if (l->is_unix)
		return strcmp(s->l.path, l->path) == 0 &&
		    strcmp(s->l.owner, l->owner) == 0 &&
		    strcmp(s->l.group, l->group) == 0 && s->l.mode == l->mode;
	return strcmp(s->l.addr, l->addr) == 0 && s->l.port == l->port &&
	    s->l.tls == l->tls;
}

static int
listen_tcp(const struct conf_listener *l)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (strcmp(l->addr, "*") == 0 || strchr(l->addr, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		if (strcmp(l->addr, "*") == 0)
			sin6->sin6_addr = in6addr_any;
		else if (inet_pton(AF_INET6, l->addr, &sin6->sin6_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		if (inet_pton(AF_INET, l->addr, &sin->sin_addr) != 1) {
			errno = EINVAL;
			return -1;
		}
		len = sizeof(*sin);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (ss.ss_family == AF_INET6) {
		/* "*" takes IPv4 too; an explicit v6 address only v6. */
		int v6only = strcmp(l->addr, "*") != 0;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only)) == -1)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int
listen_unix(const struct conf_listener *l)
{
	struct sockaddr_un sun;
	struct passwd *pw;
	struct group *gr;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	mode_t old;
	int fd;

	if (l->owner[0] != '\0') {
		if ((pw = getpwnam(l->owner)) == NULL) {
			errno = ENOENT;
			snprintf(listen_error, sizeof(listen_error),
			    "%s: no user %s", l->where, l->owner);
			return -2;
		}
		uid = pw->pw_uid;
	}
	if (l->group[0] != '\0') {
		if ((gr = getgrnam(l->group)) == NULL) {
			snprintf(listen_error, sizeof(listen_error),
			    "%s: no group %s", l->where, l->group);
			return -2;
		}
		gid = gr->gr_gid;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, l->path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	if (unlink(l->path) == -1 && errno != ENOENT)
		goto fail;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		goto fail;
	}
	umask(old);
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(l->path, uid, gid) == -1)
		goto fail;
	if (chmod(l->path, l->mode) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static void
listen_name(struct listen_sock *s)
{
	if (s->l.is_unix)
		strlcpy(s->name, s->l.path, sizeof(s->name));
	else if (strchr(s->l.addr, ':') != NULL)
		snprintf(s->name, sizeof(s->name), "[%s]:%u", s->l.addr,
		    s->l.port);
	else
		snprintf(s->name, sizeof(s->name), "%s:%u", s->l.addr,
		    s->l.port);
}

/* The admin socket, as a listener of the pseudo-protocol "admin". */
static void
listen_admin_conf(const struct conf *conf, struct conf_listener *l)
{
	memset(l, 0, sizeof(*l));
	l->is_unix = true;
	strlcpy(l->path, conf->admin_socket, sizeof(l->path));
	if (conf->admin_group != NULL)
		strlcpy(l->group, conf->admin_group, sizeof(l->group));
	l->mode = conf->admin_group != NULL ? 0660 : 0600;
	strlcpy(l->where, "admin socket", sizeof(l->where));
}

int
listen_apply(struct listen_set *set, const struct conf *conf,
    bool (*is_served)(enum conf_proto), const char **error_r)
{
	struct listen_sock *nsocks, *s;
	struct conf_listener admin;
	size_t i, j, n = 0;
	int fd;

	nsocks = xcalloc(conf->nlisteners + 1, sizeof(*nsocks));
	listen_admin_conf(conf, &admin);
	for (i = 0; i <= conf->nlisteners; i++) {
		const struct conf_listener *l = i < conf->nlisteners ?
		    &conf->listeners[i] : &admin;
		const char *proto = i < conf->nlisteners ?
		    conf_proto_name(l->proto) : "admin";

		if (i < conf->nlisteners && !is_served(l->proto)) {
			log_info("listener %s skipped: protocol %s is not "
			    "served by this build", l->where, proto);
			continue;
		}
		s = &nsocks[n];
		s->l = *l;
		strlcpy(s->proto, proto, sizeof(s->proto));
		listen_name(s);
		s->fd = -1;
		for (j = 0; j < set->n; j++)
			if (set->socks[j].fd != -1 &&
			    listen_same(&set->socks[j], l, proto)) {
				s->fd = set->socks[j].fd;
				set->socks[j].used = true;
				break;
			}
		if (s->fd == -1) {
			fd = l->is_unix ? listen_unix(l) : listen_tcp(l);
			if (fd < 0) {
				if (fd == -1)
					snprintf(listen_error,
					    sizeof(listen_error),
					    "%s: listen %s %s: %s", l->where,
					    proto, s->name, strerror(errno));
				goto fail;
			}
			s->fd = fd;
			log_debug("listening proto=%s on=%s", proto, s->name);
		}
		n++;
	}
	/* Success: close what is no longer wanted, keep the rest. */
	for (j = 0; j < set->n; j++) {
		if (!set->socks[j].used) {
			close(set->socks[j].fd);
			if (set->socks[j].l.is_unix) {
				for (i = 0; i < n; i++)
					if (nsocks[i].l.is_unix &&
					    strcmp(nsocks[i].l.path,
					    set->socks[j].l.path) == 0)
						break;
				if (i == n)
					unlink(set->socks[j].l.path);
			}
		}
	}
	free(set->socks);
	set->socks = nsocks;
	set->n = n;
	for (i = 0; i < n; i++)
		set->socks[i].used = false;
	return 0;
fail:
	/* Undo: close only the sockets bound by this call. */
	for (i = 0; i < n; i++) {
		for (j = 0; j < set->n; j++)
			if (set->socks[j].fd == nsocks[i].fd)
				break;
		if (j == set->n)
			close(nsocks[i].fd);
	}
	for (j = 0; j < set->n; j++)
		set->socks[j].used = false;
	free(nsocks);
	*error_r = listen_error;
	return -1;
}

void
listen_close_all(struct listen_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		close(set->socks[i].fd);
		if (set->socks[i].l.is_unix)
			unlink(set->socks[i].l.path);
	}
	free(set->socks);
	set->socks = NULL;
	set->n = 0;
}
