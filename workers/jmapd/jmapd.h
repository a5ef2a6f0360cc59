/* SPDX-License-Identifier: ISC */
/*
 * jmapd.h: the JMAP worker's process-wide state (jmapd(8)): its slice of
 * the configuration and the list of its HTTP sessions.
 */
#ifndef BULWARK_JMAPD_H
#define BULWARK_JMAPD_H

#include <stdbool.h>
#include <stdint.h>

struct http_session;

struct jmapd_conf {
	char		 hostname[256];
	bool		 cleartext_auth;	/* Basic without TLS */
	uint32_t	 idle_timeout;		/* seconds */
	uint32_t	 max_line;		/* request line and field */
	uint32_t	 max_connections;
	/* CORS (Fetch standard): "*", origins separated by spaces, or "". */
	char		 cors_origins[4096];
	/* RFC 8620 2: the limits the session resource advertises. */
	uint32_t	 max_size_request;
	uint32_t	 max_calls_in_request;
	uint32_t	 max_concurrent_requests;
	uint32_t	 max_objects_in_get;
	uint32_t	 max_objects_in_set;
	uint64_t	 max_size_upload;
	uint32_t	 max_concurrent_upload;
};

/* The configuration; valid for the life of the process. */
const struct jmapd_conf *jmapd_conf(void);
void	jmapd_session_add(struct http_session *);
void	jmapd_session_remove(struct http_session *);
/*
 * The API requests of account_id this process is running (waiting for
 * storaged), for maxConcurrentRequests (RFC 8620 2).
 */
unsigned int jmapd_requests_running(uint64_t account_id);
/* Its uploads waiting for storaged, for maxConcurrentUpload. */
unsigned int jmapd_uploads_running(uint64_t account_id);

#endif
