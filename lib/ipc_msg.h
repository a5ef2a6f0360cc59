/* SPDX-License-Identifier: ISC */
/*
 * ipc_msg.h: C structs and codecs for every IPC message, generated from
 * ipc_types.def.  For a type NAME there is IPC_T_NAME, struct ipc_NAME_req
 * (the request or notification) and struct ipc_NAME_rep (the reply fields
 * that follow the status of a successful reply).  Strings and byte strings
 * in decoded structs point into the frame they came from.
 */
#ifndef BULWARK_IPC_MSG_H
#define BULWARK_IPC_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "wire.h"

/* Peers, as bits so that a type can name several senders. */
#define IPC_P_MASTER	0x01
#define IPC_P_STORE	0x02
#define IPC_P_WORKER	0x04
#define IPC_P_CTL	0x08
#define IPC_P_ALL	0x0f

/* Type flags. */
#define IPC_ONEWAY	0x01
#define IPC_FD		0x02
/* Its reply may carry a descriptor (ipc_reply_ref_fd). */
#define IPC_REPLY_FD	0x04

/* Reply status, the first value of every reply. */
enum ipc_status {
	IPC_S_OK = 0,
	IPC_S_INVALID,		/* malformed or unacceptable request */
	IPC_S_NOTFOUND,
	IPC_S_EXISTS,
	IPC_S_AUTHFAIL,		/* wrong credentials */
	IPC_S_BLOCKED,		/* too many failures, refused for a while */
	IPC_S_DENIED,		/* session may not do this */
	IPC_S_UNAVAIL,		/* store unavailable, try again */
	IPC_S_INTERNAL,
	IPC_S_QUOTA,
	IPC_S_TOOBIG,
	IPC_S_HASCHILDREN,	/* a mailbox with children */
	IPC_S_CONFLICT,		/* changed since the state the request named */
	IPC_S_LIMIT,		/* a count limit (mailboxes, keywords) */
	IPC_S_MAX
};

#define IPC_CTYPE_U8		uint8_t
#define IPC_CTYPE_BOOL		bool
#define IPC_CTYPE_U32		uint32_t
#define IPC_CTYPE_U64		uint64_t
#define IPC_CTYPE_STR		const char *
#define IPC_CTYPE_BYTES		struct wire_bytes
#define IPC_CTYPE_STRLIST	struct wire_strlist
#define IPC_CTYPE_U64LIST	struct wire_u64list

enum ipc_type {
	IPC_T_NONE = 0,
#define IPC_MSG(name, from, flags, req, rep)	IPC_T_##name,
#include "ipc_types.def"
#undef IPC_MSG
	IPC_T_MAX
};

#define F(kind, n)	IPC_CTYPE_##kind n;
#define IPC_MSG(name, from, flags, req, rep)				\
	struct ipc_##name##_req { req };				\
	struct ipc_##name##_rep { rep };
#include "ipc_types.def"
#undef IPC_MSG
#undef F

/* Storage large enough for any decoded request or reply. */
union ipc_msg_any {
#define IPC_MSG(name, from, flags, req, rep)				\
	struct ipc_##name##_req name##_req;				\
	struct ipc_##name##_rep name##_rep;
#include "ipc_types.def"
#undef IPC_MSG
};

/* What the registry knows of one type. */
struct ipc_type_info {
	const char	*name;		/* lower case, for logs */
	uint8_t		 from;		/* IPC_P_* senders */
	uint8_t		 flags;		/* IPC_ONEWAY, IPC_FD */
	void		(*req_enc)(struct buf *, const void *);
	int		(*req_dec)(struct wire_reader *, void *);
	void		(*rep_enc)(struct buf *, const void *);
	int		(*rep_dec)(struct wire_reader *, void *);
	size_t		 req_size, rep_size;
};

/* Returns the registry entry of type t, or NULL if t is not a known type. */
const struct ipc_type_info *ipc_type_get(uint16_t t);
/* Returns the name of a status ("ok", "invalid", ...). */
const char *ipc_status_name(enum ipc_status st);
/* Returns the name of a peer kind ("master", "store", "worker", "ctl"). */
const char *ipc_peer_name(uint32_t peer);

#endif
