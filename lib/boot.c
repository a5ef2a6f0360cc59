/* SPDX-License-Identifier: ISC */
/*
 * boot.c: the start of every child process (see boot.h for the order).
 */
#include "boot.h"
#include "compat.h"
#include "log.h"
#include "priv.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
boot_conf_proc(struct boot_conf *bc, const struct ipc_CONF_PROC_req *m)
{
	strlcpy(bc->name, m->name, sizeof(bc->name));
	bc->instance = m->instance;
	bc->instances = m->instances;
	bc->uid = m->uid;
	bc->gid = m->gid;
	strlcpy(bc->chroot, m->chroot, sizeof(bc->chroot));
	bc->drop = m->drop;
	bc->sandbox = m->sandbox;
	log_set_verbose(m->verbose);
	log_set_trace(m->trace);
}

static void
boot_conf_listener(struct boot_conf *bc,
    const struct ipc_CONF_LISTENER_req *m)
{
	struct boot_listener *l;

	if (bc->nlisteners == BOOT_MAX_LISTENERS)
		fatalx("boot: too many listeners");
	if (m->fd < BOOT_FD_LISTEN || m->fd > 1024)
		fatalx("boot: bad listener descriptor %u", m->fd);
	l = &bc->listeners[bc->nlisteners++];
	l->fd = (int)m->fd;
	strlcpy(l->proto, m->proto, sizeof(l->proto));
	strlcpy(l->addr, m->addr, sizeof(l->addr));
	l->tls = m->tls;
}

void
boot_read_config(const char *procname, struct boot_conf *bc,
    boot_conf_fn *fn, void *arg)
{
	union ipc_msg_any msg;
	struct ipc_frame f;
	const char *err;
	bool hello = false;
	int r;

	log_init(procname, LOG_DEST_PIPE, 0);
	memset(bc, 0, sizeof(*bc));
	ipc_rx_init(&bc->rx);
	/* A dead peer must show as an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		r = ipc_rx_read_blocking(&bc->rx, BOOT_FD_MASTER, &f, &err);
		if (r == 0)
			fatalx("boot: master closed the channel");
		if (r == -1)
			fatalx("boot: reading configuration: %s", err);
		if (f.flags != 0 || f.id != 0)
			fatalx("boot: unexpected frame flags");
		if (ipc_decode_req(&f, &msg, &err) == -1)
			fatalx("boot: bad message type %u: %s", f.type, err);
		if (!hello) {
			if (f.type != IPC_T_HELLO ||
			    msg.HELLO_req.major != IPC_VERSION_MAJOR ||
			    msg.HELLO_req.peer != IPC_P_MASTER)
				fatalx("boot: bad hello from the master");
			hello = true;
			continue;
		}
		switch (f.type) {
		case IPC_T_CONF_PROC:
			boot_conf_proc(bc, &msg.CONF_PROC_req);
			break;
		case IPC_T_CONF_LISTENER:
			boot_conf_listener(bc, &msg.CONF_LISTENER_req);
			break;
		case IPC_T_CONF_END:
			return;
		default:
			if (fn == NULL || fn(f.type, &msg, arg) == -1)
				fatalx("boot: unexpected %s",
				    ipc_type_get(f.type)->name);
		}
	}
}

void
boot_confine(const struct boot_conf *bc, enum sandbox_profile p)
{
	/*
	 * glibc reads the time zone file once, on the first call that needs
	 * it (gmtime_r for a Date field, mktime in OpenSSL's certificate
	 * checks): now, while it can be opened.
	 */
	tzset();
	if (bc->drop)
		priv_drop(bc->chroot, bc->uid, bc->gid);
	else
		log_info("running as uid %u without privilege separation",
		    (unsigned)getuid());
	if (bc->sandbox)
		sandbox_apply(p);
}

struct ipc_chan *
boot_master_chan(struct event_base *base, struct boot_conf *bc,
    const struct ipc_handler *handlers, ipc_close_cb *close_cb, void *arg)
{
	struct ipc_chan_params p = {
		.self = strcmp(bc->name, "storaged") == 0 ? IPC_P_STORE :
		    IPC_P_WORKER,
		.peer = IPC_P_MASTER,
		.name = bc->name,
		.handlers = handlers,
		.close_cb = close_cb,
		.arg = arg,
		.rx = &bc->rx,
		.peer_hello_seen = true,
	};

	return ipc_chan_new(base, BOOT_FD_MASTER, &p);
}

void
boot_ready(struct ipc_chan *master)
{
	ipc_send(master, IPC_T_READY, 0, NULL, -1);
}
