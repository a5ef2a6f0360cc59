/* SPDX-License-Identifier: ISC */
/*
 * jmap_int.h: what the method files of jmapd (jmap_mailbox.c,
 * jmap_thread.c, jmap_email_*.c) share with the request machinery of
 * jmap_api.c.
 *
 * A method is a function that gets its call with the arguments resolved
 * (RFC 8620 3.7) and answers it: with jmap_call_reply() or
 * jmap_call_error() at once, or later, after one or more round trips to
 * storaged made with jmap_store_request().  The request goes on to its
 * next call when the current one has a response and no storaged request
 * pending; calls run one at a time, in order (3.3: "processed
 * sequentially").
 */
#ifndef BULWARK_JMAP_INT_H
#define BULWARK_JMAP_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc.h"
#include "jmap_api.h"
#include "json.h"
#include "objid.h"

struct jmap_call;
struct jmap_req;

/* A reply from storaged for call c: rep is valid when st is IPC_S_OK. */
typedef void jmap_store_cb(struct jmap_call *c, enum ipc_status st,
    const char *text, const void *rep);

struct jmap_call {
	const struct jmap_env	*env;
	const char		*name;		/* method name */
	struct json		*args;		/* after 3.7; owned */
	const char		*call_id;
	struct json		*response;	/* [name, result, callId] */
	struct jmap_req		*req;
	struct ipc_chan		*store;		/* of the pending request */
	uint32_t		 ipc_id;	/* pending, or 0 */
	jmap_store_cb		*store_cb;
	/* The method's own state between round trips. */
	void			*ctx;
	void			(*ctx_free)(void *);
};

/* Answers c with [c->name, result, callId]; result is taken. */
void	jmap_call_reply(struct jmap_call *c, struct json *result);
/* Answers c with ["error", {"type": type, "description": desc}, callId]. */
void	jmap_call_error(struct jmap_call *c, const char *type,
	    const char *desc);
/*
 * Sends msg as a request of IPC type `type` to storaged in the call's
 * session; cb runs once with the reply.  Returns true when the request
 * is pending; false when it is not: there was no store (c is answered
 * with serverUnavailable) or the channel had closed (cb ran already,
 * with IPC_S_UNAVAIL).  Either way the method returns next.
 */
bool	jmap_store_request(struct jmap_call *c, uint16_t type,
	    const void *msg, jmap_store_cb *cb);
/* The same for a type that carries a descriptor (IPC_FD); fd is taken. */
bool	jmap_store_request_fd(struct jmap_call *c, uint16_t type,
	    const void *msg, int fd, jmap_store_cb *cb);

/*
 * Runs method `name` with args (taken) right after c, with c's call id,
 * its response following c's (RFC 8621 7.5: onSuccessUpdateEmail and
 * onSuccessDestroyEmail make an implicit Email/set).
 */
void	jmap_call_then(struct jmap_call *c, const char *name,
	    struct json *args);

/*
 * Creation ids (RFC 8620 5.3): a method that made an object records its
 * id under the client's creation id, and the request's later calls may
 * name it "#" and the creation id (also the request's createdIds, 3.3).
 * jmap_id_ref gives the id s names: s itself without "#", the id made
 * for "#cid", or NULL when no such creation happened.
 */
void	jmap_created_id(struct jmap_call *c, const char *cid, const char *id);
const char *jmap_id_ref(struct jmap_call *c, const char *s);

/*
 * Common argument checks.  jmap_account_check: accountId is the
 * session's account (else accountNotFound, and false).
 */
bool	jmap_account_check(struct jmap_call *c);
/* The account id of env as JMAP shows it ("A<hex>"). */
void	jmap_account_id(const struct jmap_env *env, char out[OBJID_MAX]);

/*
 * Parses an object id of kind ('B', 'M', 'T'): the letter and lower-case
 * hex without leading zeros, as objid_format writes it.  Returns the
 * number or 0 (no object has number 0).
 */
uint64_t jmap_id_parse(const char *s, char kind);
/* A JMAP state string of a modseq, and back (false: not a state). */
void	jmap_state_format(char out[24], uint64_t modseq);
bool	jmap_state_parse(const char *s, uint64_t *modseq);

/*
 * The generic arguments of /get (RFC 8620 5.1): ids (NULL for all, else
 * an array of strings, at most maxObjectsInGet) and properties (NULL for
 * the defaults, else an array of strings each among known, a
 * NULL-terminated list).  Returns false with c answered on an error.
 */
bool	jmap_get_args(struct jmap_call *c, const struct json **ids_r,
	    const struct json **props_r, const char *const *known);
/* Whether property name is asked: props NULL means every default. */
bool	jmap_prop_wanted(const struct json *props, const char *name);

/*
 * A SetError (RFC 8620 5.3) of type, with "properties": [prop] and a
 * description when they are not NULL.
 */
struct json *jmap_set_error(const char *type, const char *prop,
	    const char *desc);
/*
 * A /set result map or list (created, updated, notCreated...): *v
 * (taken, set to NULL) when it has members, else null.
 */
struct json *jmap_set_map(struct json **v);
/*
 * The arguments every /set has (RFC 8620 5.3): ifInState compared with
 * *state (stateMismatch; state NULL: the method has none), create and
 * update objects or null, destroy an array of strings or null
 * (invalidArguments), at most maxObjectsInSet of them together
 * (requestTooLarge).  *create_r, *update_r and *destroy_r point into
 * c->args (NULL when absent or null), *n_r their number.  Returns false
 * with c answered on an error.
 */
bool	jmap_set_args(struct jmap_call *c, const uint64_t *state,
	    const struct json **create_r, const struct json **update_r,
	    const struct json **destroy_r, size_t *n_r);

/* The window arguments of /query (RFC 8620 5.5). */
struct jmap_query_win {
	int64_t		 position;
	const char	*anchor;	/* or NULL */
	int64_t		 anchor_offset;
	uint64_t	 limit;		/* UINT64_MAX: none given */
	bool		 calculate_total;
};

/* Reads them from c's arguments; false with c answered on an error. */
bool	jmap_query_args(struct jmap_call *c, struct jmap_query_win *w);
/*
 * Answers a /query from the whole sorted result ids[0..n): the window of
 * w, with queryState state, canCalculateChanges can_changes, and total
 * if asked (anchorNotFound when the anchor is not among them).
 */
void	jmap_query_answer(struct jmap_call *c, const struct jmap_query_win *w,
	    char *const *ids, size_t n, const char *state, bool can_changes);

/* The methods (RFC 8621). */
void	jmap_mailbox_get(const struct jmap_env *, struct jmap_call *);
void	jmap_mailbox_changes(const struct jmap_env *, struct jmap_call *);
void	jmap_mailbox_query(const struct jmap_env *, struct jmap_call *);
void	jmap_mailbox_query_changes(const struct jmap_env *,
	    struct jmap_call *);
void	jmap_mailbox_set(const struct jmap_env *, struct jmap_call *);
void	jmap_thread_get(const struct jmap_env *, struct jmap_call *);
void	jmap_thread_changes(const struct jmap_env *, struct jmap_call *);
void	jmap_email_get(const struct jmap_env *, struct jmap_call *);
void	jmap_email_changes(const struct jmap_env *, struct jmap_call *);
void	jmap_email_query(const struct jmap_env *, struct jmap_call *);
void	jmap_email_query_changes(const struct jmap_env *,
	    struct jmap_call *);
void	jmap_email_set(const struct jmap_env *, struct jmap_call *);
void	jmap_email_import(const struct jmap_env *, struct jmap_call *);
void	jmap_email_copy(const struct jmap_env *, struct jmap_call *);
void	jmap_email_parse(const struct jmap_env *, struct jmap_call *);
void	jmap_blob_copy(const struct jmap_env *, struct jmap_call *);
void	jmap_snippet_get(const struct jmap_env *, struct jmap_call *);
/* RFC 8621 6, 7 (jmap_identity.c, jmap_submission.c) */
void	jmap_identity_get(const struct jmap_env *, struct jmap_call *);
void	jmap_identity_changes(const struct jmap_env *, struct jmap_call *);
void	jmap_identity_set(const struct jmap_env *, struct jmap_call *);
void	jmap_submission_get(const struct jmap_env *, struct jmap_call *);
void	jmap_submission_changes(const struct jmap_env *,
	    struct jmap_call *);
void	jmap_submission_query(const struct jmap_env *, struct jmap_call *);
void	jmap_submission_query_changes(const struct jmap_env *,
	    struct jmap_call *);
void	jmap_submission_set(const struct jmap_env *, struct jmap_call *);
/* jmap_vacation.c: VacationResponse/get and /set (RFC 8621 8). */
void	jmap_vacation_get(const struct jmap_env *, struct jmap_call *);
void	jmap_vacation_set(const struct jmap_env *, struct jmap_call *);
/* jmap_pushsub.c: RFC 8620 7.2 */
void	jmap_pushsub_get(const struct jmap_env *, struct jmap_call *);
void	jmap_pushsub_set(const struct jmap_env *, struct jmap_call *);

/*
 * /changes of one type (RFC 8620 5.2) through CHANGES_GET: type is an
 * enum change_type of store/record.h.
 */
void	jmap_changes(struct jmap_call *c, uint32_t type);

#endif
