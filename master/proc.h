/* SPDX-License-Identifier: ISC */
/*
 * proc.h: the kinds of processes the master runs and how one is started.
 *
 * One static table (proc.c) names each kind: binary, user, chroot, how many,
 * which listeners, whether it talks to storaged, its sandbox, and the
 * configuration messages it is sent.  proc_spawn() forks and execs one
 * instance with the descriptor plan of lib/boot.h.
 */
#ifndef BULWARK_PROC_H
#define BULWARK_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "conf.h"
#include "listen.h"

/* What the master resolved from the configuration and the system. */
struct proc_env {
	const struct conf	*conf;
	const struct listen_set	*listeners;
	const char		*libexec_dir;
	bool			 privsep;	/* running as root: drop, chroot */
	uid_t			 store_uid, worker_uid;
	gid_t			 store_gid, worker_gid;
	gid_t			 admin_gid;	/* (gid_t)-1: none */
	const struct buf	*tls_cert;	/* PEM, empty if none */
	const struct buf	*tls_key;
	/* The PEM key of each conf->dkim[i]: storaged's alone (CONF_DKIM). */
	const struct buf	*dkim_keys;
	/* relay { ca } (PEM, lmtpd's) and the password (storaged's alone). */
	const struct buf	*relay_ca;
	const struct buf	*relay_password;
	const struct buf	*push_ca;	/* push { ca }, lmtpd's */
};

struct proc_kind {
	const char	*name;		/* also the binary's name */
	bool		 is_store;	/* storaged */
	int		 proto;		/* enum conf_proto, or -1 */
	/* Appends the kind's own CONF_* frames (after CONF_PROC, listeners). */
	void		(*conf)(struct buf *out, const struct proc_env *env);
};

/* The table; proc_kinds_n entries.  Entry 0 is storaged. */
extern const struct proc_kind proc_kinds[];
extern const size_t proc_kinds_n;

/* Returns whether a worker for proto is part of this build. */
bool	proc_proto_served(enum conf_proto proto);
/* Number of instances of kind k the configuration asks for. */
unsigned proc_instances(const struct proc_kind *k, const struct conf *conf);

/*
 * Encodes the whole configuration of instance inst of kind k (HELLO is sent
 * by the channel itself): CONF_PROC, CONF_LISTENER..., the kind's messages,
 * CONF_END.  Two instances whose encodings are equal need no restart.
 */
void	proc_conf_encode(struct buf *out, const struct proc_kind *k,
	    unsigned inst, const struct proc_env *env);

struct proc_fds {
	int	master;		/* child's end of the master channel */
	int	store;		/* child's end of the store channel, or -1 */
	int	log;		/* write end of the log pipe */
};

/*
 * Forks and execs instance inst of kind k with the descriptors of fds and
 * the kind's listeners.  Returns the pid, or -1 with errno.  The caller
 * closes its copies of fds.
 */
pid_t	proc_spawn(const struct proc_kind *k, unsigned inst,
	    const struct proc_env *env, const struct proc_fds *fds);

#endif
