/* SPDX-License-Identifier: ISC */
/*
 * ipc_msg.c: encoders, decoders and the registry of IPC message types, all
 * generated from ipc_types.def so that each encoder sits beside its decoder
 * and neither can drift from the field list.
 */
#include "ipc_msg.h"

#include <stddef.h>

#define F(kind, n)	wire_put_##kind(w, m->n);
#define IPC_MSG(name, from, flags, req, rep)				\
static void								\
enc_##name##_req(struct buf *w, const void *v)				\
{									\
	const struct ipc_##name##_req *m = v;				\
	(void)m; (void)w;						\
	req								\
}									\
static void								\
enc_##name##_rep(struct buf *w, const void *v)				\
{									\
	const struct ipc_##name##_rep *m = v;				\
	(void)m; (void)w;						\
	rep								\
}
#include "ipc_types.def"
#undef IPC_MSG
#undef F

#define F(kind, n)	wire_get_##kind(r, &m->n);
#define IPC_MSG(name, from, flags, req, rep)				\
static int								\
dec_##name##_req(struct wire_reader *r, void *v)			\
{									\
	struct ipc_##name##_req *m = v;					\
	(void)m;							\
	req								\
	return wire_reader_finish(r);					\
}									\
static int								\
dec_##name##_rep(struct wire_reader *r, void *v)			\
{									\
	struct ipc_##name##_rep *m = v;					\
	(void)m;							\
	rep								\
	return wire_reader_finish(r);					\
}
#include "ipc_types.def"
#undef IPC_MSG
#undef F

static const struct ipc_type_info ipc_types[IPC_T_MAX] = {
#define IPC_MSG(nm, from_, flags_, req, rep)				\
	[IPC_T_##nm] = {						\
		.name = #nm, .from = (from_), .flags = (flags_),	\
		.req_enc = enc_##nm##_req,				\
		.req_dec = dec_##nm##_req,				\
		.rep_enc = enc_##nm##_rep,				\
		.rep_dec = dec_##nm##_rep,				\
		.req_size = sizeof(struct ipc_##nm##_req),		\
		.rep_size = sizeof(struct ipc_##nm##_rep),		\
	},
#include "ipc_types.def"
#undef IPC_MSG
};

const struct ipc_type_info *
ipc_type_get(uint16_t t)
{
	if (t == IPC_T_NONE || t >= IPC_T_MAX)
		return NULL;
	return &ipc_types[t];
}

const char *
ipc_status_name(enum ipc_status st)
{
	static const char *const names[IPC_S_MAX] = {
		[IPC_S_OK] = "ok", [IPC_S_INVALID] = "invalid",
		[IPC_S_NOTFOUND] = "notfound", [IPC_S_EXISTS] = "exists",
		[IPC_S_AUTHFAIL] = "authfail", [IPC_S_BLOCKED] = "blocked",
		[IPC_S_DENIED] = "denied", [IPC_S_UNAVAIL] = "unavailable",
		[IPC_S_INTERNAL] = "internal", [IPC_S_QUOTA] = "quota",
		[IPC_S_TOOBIG] = "toobig", [IPC_S_HASCHILDREN] = "haschildren",
		[IPC_S_CONFLICT] = "conflict", [IPC_S_LIMIT] = "limit",
	};

	if ((unsigned)st >= IPC_S_MAX)
		return "unknown";
	return names[st];
}

const char *
ipc_peer_name(uint32_t peer)
{
	switch (peer) {
	case IPC_P_MASTER:
		return "master";
	case IPC_P_STORE:
		return "store";
	case IPC_P_WORKER:
		return "worker";
	case IPC_P_CTL:
		return "ctl";
	default:
		return "unknown";
	}
}
