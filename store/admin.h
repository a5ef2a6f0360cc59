/* SPDX-License-Identifier: ISC */
/*
 * admin.h: the admin socket and the requests of bulwarkctl.
 *
 * The master binds the socket (mode 0600, or 0660 with the admin group) and
 * passes it as the listener of proto "admin".  storaged checks each peer
 * again (SO_PEERCRED): root, its own user, or a member of the admin group;
 * anyone else is closed and logged.  Each request is one LMDB write
 * transaction committed before the reply, and each change is logged at
 * info (`account added name=alice@example.org id=7`).  Password hashing for
 * ACCOUNT_ADD and ACCOUNT_PASSWD runs on the thread pool.
 */
#ifndef BULWARK_ADMIN_H
#define BULWARK_ADMIN_H

#include "ipc.h"
#include "storaged.h"

/* Most bulwarkctl connections at once; more wait in the listen queue. */
#define ADMIN_MAX_CONNS	32

/* Starts accepting connections on listening socket fd (taken). */
struct admin *admin_new(struct storaged *sd, int fd);
/* Stops accepting; open connections stay for replies in flight. */
void	admin_stop(struct admin *a);
/* Closes the listener and every connection, frees a, NULLs *ap. */
void	admin_free(struct admin **ap);

/* The storaged of a handler's argument on an admin channel. */
struct storaged *admin_conn_storaged(void *arg);

/* Handlers of dispatch_ctl. */
ipc_handler_fn admin_domain_add;
ipc_handler_fn admin_domain_del;
ipc_handler_fn admin_domain_list;
ipc_handler_fn admin_account_add;
ipc_handler_fn admin_account_del;
ipc_handler_fn admin_account_passwd;
ipc_handler_fn admin_account_list;
ipc_handler_fn admin_account_show;
ipc_handler_fn admin_alias_add;
ipc_handler_fn admin_alias_del;
ipc_handler_fn admin_alias_list;
ipc_handler_fn admin_quota_set;
ipc_handler_fn admin_store_prune;
/* Looking into mailboxes (admin_mail.c). */
ipc_handler_fn admin_mailbox_list;
ipc_handler_fn admin_message_list;
ipc_handler_fn admin_message_get;

#endif
