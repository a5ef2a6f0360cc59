/* SPDX-License-Identifier: ISC */
/*
 * dispatch.h: the handler tables of storaged's channels, one per peer kind.
 * lib/ipc.c closes a channel that sends a type missing from its table.
 */
#ifndef BULWARK_DISPATCH_H
#define BULWARK_DISPATCH_H

#include "ipc.h"

/* bulwarkd: worker channels, shutdown, trace settings (storaged.c). */
extern const struct ipc_handler dispatch_master[];
/* Network workers: sessions and authentication (worker.c). */
extern const struct ipc_handler dispatch_worker[];
/* bulwarkctl on the admin socket (admin.c). */
extern const struct ipc_handler dispatch_ctl[];

#endif
