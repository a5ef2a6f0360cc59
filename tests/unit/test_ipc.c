/* SPDX-License-Identifier: ISC */
/*
 * test_ipc.c: the wire encoding and IPC channels.  Every message type of
 * ipc_types.def gets a round trip and a truncation test, generated from the
 * same list; channels are tested over real socketpairs on libevent.
 */
#include "harness.h"
#include "ipc.h"
#include "log.h"

#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

static unsigned fill_counter;
static char fill_strs[64][32];
static uint8_t fill_list[128];
static struct buf fill_listbuf = BUF_INIT;

static void __attribute__((unused))
fill_U8(uint8_t *v) { *v = (uint8_t)++fill_counter; }
static void
fill_BOOL(bool *v) { *v = (++fill_counter & 1) != 0; }
static void
fill_U32(uint32_t *v) { *v = 0x01020300u + ++fill_counter; }
static void
fill_U64(uint64_t *v) { *v = 0x0102030405060700ull + ++fill_counter; }
static void
fill_STR(const char **v)
{
	unsigned i = ++fill_counter % 64;

	snprintf(fill_strs[i], sizeof(fill_strs[i]), "str-%u", fill_counter);
	*v = fill_strs[i];
}
static void
fill_BYTES(struct wire_bytes *v)
{
	size_t i;

	for (i = 0; i < sizeof(fill_list); i++)
		fill_list[i] = (uint8_t)(i * 7 + fill_counter);
	fill_counter++;
	v->p = fill_list;
	v->len = 37;
}
static void
fill_STRLIST(struct wire_strlist *v)
{
	struct wire_reader r;

	buf_reset(&fill_listbuf);
	wire_put_strlist_begin(&fill_listbuf, 3);
	wire_strlist_add(&fill_listbuf, "alpha");
	wire_strlist_add(&fill_listbuf, "");
	wire_strlist_add(&fill_listbuf, "gamma");
	wire_reader_init(&r, fill_listbuf.data, fill_listbuf.len);
	if (wire_get_STRLIST(&r, v) == -1)
		abort();
}

static struct buf fill_u64buf = BUF_INIT;

static void
fill_U64LIST(struct wire_u64list *v)
{
	struct wire_reader r;

	buf_reset(&fill_u64buf);
	wire_put_u64list_begin(&fill_u64buf, 3);
	wire_u64list_add(&fill_u64buf, 1);
	wire_u64list_add(&fill_u64buf, UINT64_MAX);
	wire_u64list_add(&fill_u64buf, ++fill_counter);
	wire_reader_init(&r, fill_u64buf.data, fill_u64buf.len);
	if (wire_get_U64LIST(&r, v) == -1)
		abort();
}

#define F(kind, n)	fill_##kind(&m->n);
#define IPC_MSG(name, from, flags, req, rep)				\
static void								\
fill_##name##_req(void *v)						\
{									\
	struct ipc_##name##_req *m = v;					\
	(void)m;							\
	req								\
}									\
static void								\
fill_##name##_rep(void *v)						\
{									\
	struct ipc_##name##_rep *m = v;					\
	(void)m;							\
	rep								\
}
#include "ipc_types.def"
#undef IPC_MSG
#undef F

static void (*const fill_req[IPC_T_MAX])(void *) = {
#define IPC_MSG(nm, from, flags, req, rep) [IPC_T_##nm] = fill_##nm##_req,
#include "ipc_types.def"
#undef IPC_MSG
};
static void (*const fill_rep[IPC_T_MAX])(void *) = {
#define IPC_MSG(nm, from, flags, req, rep) [IPC_T_##nm] = fill_##nm##_rep,
#include "ipc_types.def"
#undef IPC_MSG
};

/* Encodes, decodes and re-encodes one payload; checks bytes are equal. */
static void
roundtrip(const char *what, uint16_t t,
    void (*enc)(struct buf *, const void *),
    int (*dec)(struct wire_reader *, void *), size_t size,
    void (*fill)(void *))
{
	union ipc_msg_any in, out;
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct wire_reader r;
	size_t cut;

	memset(&in, 0, sizeof(in));
	fill(&in);
	enc(&a, &in);
	memset(&out, 0, sizeof(out));
	wire_reader_init(&r, a.data, a.len);
	if (dec(&r, &out) != 0) {
		harness_fail(__FILE__, __LINE__, "%s %s: decode failed: %s",
		    ipc_type_get(t)->name, what, r.err);
		goto done;
	}
	enc(&b, &out);
	if (a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len)))
		harness_fail(__FILE__, __LINE__, "%s %s: round trip differs",
		    ipc_type_get(t)->name, what);
	/* Every truncation, and one byte too many, must be refused. */
	for (cut = 0; cut < a.len; cut++) {
		memset(&out, 0, size);
		wire_reader_init(&r, a.data, cut);
		if (dec(&r, &out) == 0)
			harness_fail(__FILE__, __LINE__,
			    "%s %s: truncated to %zu of %zu decoded",
			    ipc_type_get(t)->name, what, cut, a.len);
	}
	buf_append(&a, "", 1);
	wire_reader_init(&r, a.data, a.len);
	if (dec(&r, &out) == 0)
		harness_fail(__FILE__, __LINE__, "%s %s: trailing byte accepted",
		    ipc_type_get(t)->name, what);
done:
	buf_clear(&a);
	buf_clear(&b);
}

TEST(every_message_round_trips)
{
	uint16_t t;
	const struct ipc_type_info *ti;

	for (t = 1; t < IPC_T_MAX; t++) {
		ti = ipc_type_get(t);
		CHECK(ti != NULL);
		roundtrip("request", t, ti->req_enc, ti->req_dec, ti->req_size,
		    fill_req[t]);
		roundtrip("reply", t, ti->rep_enc, ti->rep_dec, ti->rep_size,
		    fill_rep[t]);
	}
	CHECK(ipc_type_get(0) == NULL);
	CHECK(ipc_type_get(IPC_T_MAX) == NULL);
}

TEST(wire_rejects_bad_values)
{
	struct wire_reader r;
	struct buf b = BUF_INIT;
	const char *s;
	uint32_t u;
	bool v;
	/* STR of length 3 whose NUL is not last */
	static const uint8_t badstr[] = { WIRE_STR, 0, 0, 0, 3, 'a', 0, 'b' };
	/* STR with a length past the end */
	static const uint8_t longstr[] = { WIRE_STR, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t badbool[] = { WIRE_BOOL, 2 };

	wire_reader_init(&r, badstr, sizeof(badstr));
	CHECK_INT(wire_get_STR(&r, &s), -1);
	wire_reader_init(&r, longstr, sizeof(longstr));
	CHECK_INT(wire_get_STR(&r, &s), -1);
	wire_reader_init(&r, badbool, sizeof(badbool));
	CHECK_INT(wire_get_BOOL(&r, &v), -1);
	/* Wrong type: a U32 read as STR; and the error is sticky. */
	wire_put_U32(&b, 7);
	wire_put_U32(&b, 8);
	wire_reader_init(&r, b.data, b.len);
	CHECK_INT(wire_get_STR(&r, &s), -1);
	CHECK_INT(wire_get_U32(&r, &u), -1);
	CHECK(r.err != NULL);
	buf_clear(&b);
}

/* Skipping steps over exactly one value, checking lengths and type only. */
TEST(wire_skips_values)
{
	struct wire_reader r;
	struct buf b = BUF_INIT;
	uint32_t u = 0;
	static const uint8_t longstr[] = { WIRE_STR, 0, 0, 0, 9, 'a', 0 };
	static const uint8_t shortlist[] = { WIRE_STRLIST, 0, 0, 0, 2,
	    0, 0, 0, 2, 'a', 0, 0, 0, 0, 9, 'b' };

	wire_put_STR(&b, "skipped");
	wire_put_strlist_begin(&b, 2);
	wire_strlist_add(&b, "one");
	wire_strlist_add(&b, "two");
	wire_put_U32(&b, 42);
	wire_reader_init(&r, b.data, b.len);
	CHECK_INT(wire_skip_STR(&r), 0);
	CHECK_INT(wire_skip_STRLIST(&r), 0);
	CHECK_INT(wire_get_U32(&r, &u), 0);
	CHECK_INT(u, 42);
	CHECK_INT(wire_reader_finish(&r), 0);
	/* Of the wrong type, or past the end: refused. */
	wire_reader_init(&r, b.data, b.len);
	CHECK_INT(wire_skip_STRLIST(&r), -1);
	wire_reader_init(&r, longstr, sizeof(longstr));
	CHECK_INT(wire_skip_STR(&r), -1);
	wire_reader_init(&r, shortlist, sizeof(shortlist));
	CHECK_INT(wire_skip_STRLIST(&r), -1);
	buf_clear(&b);
}

TEST(frame_header_checks)
{
	struct ipc_rx rx;
	struct ipc_frame f;
	const char *err = NULL;
	uint8_t hdr[IPC_HDR_SIZE] = { 0 };

	ipc_rx_init(&rx);
	/* Too large a length is refused from the header alone. */
	wire_be32_put(hdr, IPC_MAX_PAYLOAD + 1);
	buf_append(&rx.in, hdr, sizeof(hdr));
	CHECK_INT(ipc_rx_next(&rx, &f, &err), -1);
	CHECK(err != NULL);
	ipc_rx_clear(&rx);
	/* A frame announcing a descriptor without one. */
	ipc_rx_init(&rx);
	memset(hdr, 0, sizeof(hdr));
	wire_be16_put(hdr + 4, IPC_T_READY);
	wire_be16_put(hdr + 6, IPC_F_FD);
	buf_append(&rx.in, hdr, sizeof(hdr));
	CHECK_INT(ipc_rx_next(&rx, &f, &err), -1);
	ipc_rx_clear(&rx);
	/* Unknown flags. */
	ipc_rx_init(&rx);
	wire_be16_put(hdr + 6, 0x8000);
	buf_append(&rx.in, hdr, sizeof(hdr));
	CHECK_INT(ipc_rx_next(&rx, &f, &err), -1);
	ipc_rx_clear(&rx);
	/* Incomplete: needs more. */
	ipc_rx_init(&rx);
	buf_append(&rx.in, hdr, 10);
	CHECK_INT(ipc_rx_next(&rx, &f, &err), 0);
	ipc_rx_clear(&rx);
}

/*
 * A reply that outgrows its frame goes out as an IPC_S_TOOBIG error in its
 * place (the sender lives on); frames before it in the buffer stay.
 */
TEST(reply_too_large_becomes_error)
{
	struct ipc_MSG_STORE_rep rep;
	struct ipc_rx rx;
	struct ipc_frame f;
	struct wire_reader rd;
	const char *err = NULL, *text = NULL;
	struct buf out = BUF_INIT;
	uint8_t *big;
	uint32_t status = 0;

	memset(&rep, 0, sizeof(rep));
	big = calloc(1, IPC_MAX_PAYLOAD);
	rep.changed.p = big;
	rep.changed.len = IPC_MAX_PAYLOAD;
	ipc_encode_reply(&out, IPC_T_MSG_STORE, 7, 9, IPC_S_OK, NULL, NULL);
	ipc_encode_reply(&out, IPC_T_MSG_STORE, 8, 9, IPC_S_OK, NULL, &rep);
	CHECK(out.len < 4096);
	ipc_rx_init(&rx);
	buf_append(&rx.in, out.data, out.len);
	CHECK_INT(ipc_rx_next(&rx, &f, &err), 1);
	CHECK_INT(f.id, 7);
	CHECK_INT(ipc_rx_next(&rx, &f, &err), 1);
	CHECK_INT(f.id, 8);
	CHECK_INT(f.type, IPC_T_MSG_STORE);
	CHECK(f.flags & IPC_F_REPLY);
	wire_reader_init(&rd, f.data, f.len);
	CHECK_INT(wire_get_U32(&rd, &status), 0);
	CHECK_INT(status, IPC_S_TOOBIG);
	CHECK_INT(wire_get_STR(&rd, &text), 0);
	CHECK(text != NULL && strstr(text, "too large") != NULL);
	CHECK_INT(wire_reader_finish(&rd), 0);
	ipc_rx_clear(&rx);
	buf_clear(&out);
	free(big);
}

/*
 * Once a frame's header is in, the rest of it comes in one read, however
 * big (within IPC_MAX_PAYLOAD), not 64 KiB at a time; the frames after it
 * are intact.
 */
TEST(rx_reads_rest_of_big_frame)
{
	const size_t big = 900u << 10;
	struct ipc_rx rx;
	struct ipc_frame f;
	const char *err = NULL;
	uint8_t hdr[IPC_HDR_SIZE], *payload;
	int sp[2], sz = 4 << 20;
	size_t i, off;
	ssize_t n;

	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	(void)setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	payload = malloc(big);
	for (i = 0; i < big; i++)
		payload[i] = (uint8_t)(i * 7);
	memset(hdr, 0, sizeof(hdr));
	wire_be32_put(hdr, (uint32_t)big);
	wire_be16_put(hdr + 4, IPC_T_READY);
	CHECK(write(sp[0], hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
	for (off = 0; off < big; off += (size_t)n)
		if ((n = write(sp[0], payload + off, big - off)) <= 0)
			break;
	CHECK_INT(off, big);
	wire_be32_put(hdr, 3);
	CHECK(write(sp[0], hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr));
	CHECK(write(sp[0], "end", 3) == 3);
	ipc_rx_init(&rx);
	n = ipc_rx_fill(&rx, sp[1]);
	CHECK(n > IPC_HDR_SIZE);
	/* The header is in: what is left of the frame in one read. */
	n = ipc_rx_fill(&rx, sp[1]);
	CHECK(n >= (ssize_t)(big + IPC_HDR_SIZE) - 65536);
	while (rx.in.len < 2 * IPC_HDR_SIZE + big + 3 &&
	    ipc_rx_fill(&rx, sp[1]) > 0)
		;
	CHECK_INT(ipc_rx_next(&rx, &f, &err), 1);
	CHECK_INT(f.len, big);
	CHECK(f.len == big && memcmp(f.data, payload, big) == 0);
	CHECK_INT(ipc_rx_next(&rx, &f, &err), 1);
	CHECK(f.len == 3 && memcmp(f.data, "end", 3) == 0);
	CHECK_INT(ipc_rx_next(&rx, &f, &err), 0);
	ipc_rx_clear(&rx);
	free(payload);
	close(sp[0]);
	close(sp[1]);
}

/* --- Channels over a socketpair --- */

struct side {
	struct ipc_chan	*chan;
	int		 closed;
	char		 why[64];
	int		 infos;
	int		 replies;
	enum ipc_status	 last_status;
	uint64_t	 last_account;
	char		 last_user[32];
	int		 got_fd;
};

static struct event_base *base;

static void
side_closed(struct ipc_chan *c, const char *why, void *arg)
{
	struct side *s = arg;

	(void)c;
	s->closed++;
	snprintf(s->why, sizeof(s->why), "%s", why);
	ipc_chan_free(&s->chan);
}

static void
store_info(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	struct side *s = arg;
	struct ipc_SESSION_INFO_rep rep = { .account_id = f->session * 2,
	    .username = "user@example.org" };

	(void)msg;
	s->infos++;
	if (f->session == 0)
		ipc_reply(c, f, IPC_S_DENIED, "no session", NULL);
	else
		ipc_reply(c, f, IPC_S_OK, "", &rep);
}

static void
store_peer(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	struct side *s = arg;
	const struct ipc_STORE_PEER_req *m = msg;

	(void)f;
	CHECK_STR(m->name, "imapd");
	s->got_fd = ipc_chan_take_fd(c);
}

static void
got_reply(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct side *s = arg;
	const struct ipc_SESSION_INFO_rep *r = rep;

	(void)c;
	(void)text;
	s->replies++;
	s->last_status = st;
	if (st == IPC_S_OK) {
		s->last_account = r->account_id;
		snprintf(s->last_user, sizeof(s->last_user), "%s", r->username);
	}
}

/* Replies with the size of the file that came with the request. */
static void
store_deliver(struct ipc_chan *c, const struct ipc_frame *f, const void *msg,
    void *arg)
{
	const struct ipc_DELIVER_req *m = msg;
	struct ipc_DELIVER_rep rep = { 0 };
	struct stat sb;
	int fd = ipc_chan_take_fd(c);

	(void)arg;
	CHECK(fd >= 0);
	CHECK(fstat(fd, &sb) == 0);
	rep.email_id = (uint64_t)sb.st_size;
	rep.uid = m->mailbox_id;
	close(fd);
	ipc_reply(c, f, IPC_S_OK, "", &rep);
}

/* Replies with a descriptor of /dev/null instead of writing the memfd. */
static void
store_body_file(struct ipc_chan *c, const struct ipc_frame *f,
    const void *msg, void *arg)
{
	struct ipc_MSG_BODY_FILE_rep rep = { .size = 0 };
	struct ipc_reqref ref;

	(void)msg;
	(void)arg;
	ipc_reqref_set(&ref, f);
	ipc_reply_ref_fd(c, &ref, IPC_S_OK, NULL, &rep, open("/dev/null",
	    O_RDONLY | O_CLOEXEC));
}

static const struct ipc_handler store_handlers[] = {
	{ IPC_T_DELIVER, store_deliver },
	{ IPC_T_MSG_BODY_FILE, store_body_file },
	{ IPC_T_SESSION_INFO, store_info },
	{ IPC_T_STORE_PEER, store_peer },
	{ 0, NULL }
};

static void
pair(struct side *a, uint32_t aself, uint32_t apeer, struct side *b,
    uint32_t bself, uint32_t bpeer, const struct ipc_handler *bh)
{
	struct ipc_chan_params pa = { .self = aself, .peer = apeer,
	    .name = "a", .close_cb = side_closed, .arg = a };
	struct ipc_chan_params pb = { .self = bself, .peer = bpeer,
	    .name = "b", .handlers = bh, .close_cb = side_closed, .arg = b };
	int sp[2];

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		abort();
	a->chan = ipc_chan_new(base, sp[0], &pa);
	b->chan = ipc_chan_new(base, sp[1], &pb);
}

static void
run_until(int *counter, int want)
{
	int i;

	for (i = 0; i < 2000 && *counter < want; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

TEST(channel_request_reply)
{
	struct side w, st;
	int i;

	base = event_base_new();
	pair(&w, IPC_P_WORKER, IPC_P_STORE, &st, IPC_P_STORE, IPC_P_WORKER,
	    store_handlers);
	for (i = 0; i < 100; i++)
		ipc_request(w.chan, IPC_T_SESSION_INFO, 21, NULL, got_reply,
		    &w);
	run_until(&w.replies, 100);
	CHECK_INT(w.replies, 100);
	CHECK_INT(st.infos, 100);
	CHECK_INT(w.last_status, IPC_S_OK);
	CHECK_INT(w.last_account, 42);
	CHECK_STR(w.last_user, "user@example.org");
	CHECK_STR(ipc_chan_peer_name(w.chan), "b");
	/* A status other than OK carries no reply fields. */
	ipc_request(w.chan, IPC_T_SESSION_INFO, 0, NULL, got_reply, &w);
	run_until(&w.replies, 101);
	CHECK_INT(w.last_status, IPC_S_DENIED);
	/* A cancelled request's callback never runs. */
	ipc_cancel(w.chan, ipc_request(w.chan, IPC_T_SESSION_INFO, 1, NULL,
	    got_reply, &w));
	run_until(&st.infos, 102);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT(w.replies, 101);
	ipc_chan_free(&w.chan);
	run_until(&st.closed, 1);
	CHECK_INT(st.closed, 1);
	event_base_free(base);
}

TEST(channel_passes_descriptors)
{
	struct side m, st;
	struct ipc_STORE_PEER_req req = { .name = "imapd", .pid = 7 };
	struct stat sb;
	int fd;

	base = event_base_new();
	pair(&m, IPC_P_MASTER, IPC_P_STORE, &st, IPC_P_STORE, IPC_P_MASTER,
	    store_handlers);
	st.got_fd = -1;
	fd = open("/dev/null", O_RDONLY);
	ipc_send(m.chan, IPC_T_STORE_PEER, 0, &req, fd);
	for (int i = 0; i < 1000 && st.got_fd == -1; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	CHECK(st.got_fd >= 0);
	CHECK(fstat(st.got_fd, &sb) == 0 && S_ISCHR(sb.st_mode));
	close(st.got_fd);
	ipc_chan_free(&m.chan);
	ipc_chan_free(&st.chan);
	event_base_free(base);
}

static void
got_deliver(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct side *s = arg;
	const struct ipc_DELIVER_rep *r = rep;

	(void)c;
	(void)text;
	s->replies++;
	s->last_status = st;
	if (st == IPC_S_OK) {
		s->last_account = r->email_id;
		s->got_fd = (int)r->uid;
	}
}

TEST(channel_request_with_descriptor)
{
	struct side w, st;
	struct ipc_DELIVER_req req = { .account_id = 1, .mailbox_id = 9,
	    .envelope_from = "a@example.org", .recipient = "b@example.org",
	    .size = 5 };
	char path[256];
	int fd, i;

	base = event_base_new();
	pair(&w, IPC_P_WORKER, IPC_P_STORE, &st, IPC_P_STORE, IPC_P_WORKER,
	    store_handlers);
	snprintf(path, sizeof(path), "%s/msg", harness_tmpdir());
	for (i = 0; i < 3; i++) {
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		CHECK(write(fd, "hello world", 5 + i) == 5 + i);
		ipc_request_fd(w.chan, IPC_T_DELIVER, 0, &req, fd, got_deliver,
		    &w);
	}
	run_until(&w.replies, 3);
	CHECK_INT(w.replies, 3);
	CHECK_INT(w.last_status, IPC_S_OK);
	/* Each request's own descriptor came with it: the last was 7 bytes. */
	CHECK_INT(w.last_account, 7);
	CHECK_INT(w.got_fd, 9);
	ipc_chan_free(&w.chan);
	ipc_chan_free(&st.chan);
	event_base_free(base);
}

static void
got_body_file(struct ipc_chan *c, enum ipc_status st, const char *text,
    const void *rep, void *arg)
{
	struct side *s = arg;

	(void)text;
	(void)rep;
	s->replies++;
	s->last_status = st;
	s->got_fd = ipc_chan_take_fd(c);
}

TEST(channel_reply_with_descriptor)
{
	struct ipc_MSG_BODY_FILE_req req = { .mailbox_id = 1, .uid = 2 };
	struct side w, st;
	struct stat sb;

	base = event_base_new();
	pair(&w, IPC_P_WORKER, IPC_P_STORE, &st, IPC_P_STORE, IPC_P_WORKER,
	    store_handlers);
	w.got_fd = -1;
	ipc_request_fd(w.chan, IPC_T_MSG_BODY_FILE, 0, &req,
	    open("/dev/zero", O_RDONLY | O_CLOEXEC), got_body_file, &w);
	run_until(&w.replies, 1);
	CHECK_INT(w.replies, 1);
	CHECK_INT(w.last_status, IPC_S_OK);
	/* The reply's descriptor, not the request's. */
	CHECK(w.got_fd >= 0);
	CHECK(fstat(w.got_fd, &sb) == 0 && S_ISCHR(sb.st_mode) &&
	    sb.st_rdev == makedev(1, 3));
	close(w.got_fd);
	CHECK_INT(w.closed, 0);
	ipc_chan_free(&w.chan);
	ipc_chan_free(&st.chan);
	event_base_free(base);
}

/* A reply of a type that takes no descriptor, with one: the channel fails. */
TEST(channel_refuses_descriptor_with_reply)
{
	struct ipc_HELLO_req hello = { .major = IPC_VERSION_MAJOR,
	    .minor = IPC_VERSION_MINOR, .peer = IPC_P_STORE, .name = "raw" };
	struct ipc_chan_params pw = { .self = IPC_P_WORKER,
	    .peer = IPC_P_STORE, .name = "w", .close_cb = side_closed };
	struct ipc_SESSION_INFO_rep rep = { .account_id = 1,
	    .username = "u" };
	struct buf out = BUF_INIT;
	struct side w;
	int sp[2], fd;

	base = event_base_new();
	memset(&w, 0, sizeof(w));
	pw.arg = &w;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		abort();
	w.chan = ipc_chan_new(base, sp[0], &pw);
	ipc_request(w.chan, IPC_T_SESSION_INFO, 1, NULL, got_reply, &w);
	ipc_encode(&out, IPC_T_HELLO, 0, 0, 0, &hello);
	CHECK(ipc_write_blocking(sp[1], &out, -1) == 0);
	buf_reset(&out);
	ipc_encode_reply(&out, IPC_T_SESSION_INFO, 1, 1, IPC_S_OK, "", &rep);
	wire_be16_put(out.data + 6, IPC_F_REPLY | IPC_F_FD);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(ipc_write_blocking(sp[1], &out, fd) == 0);
	close(fd);
	run_until(&w.closed, 1);
	CHECK_INT(w.closed, 1);
	CHECK_STR(w.why, "descriptor with a reply that takes none");
	/* The request's callback ran with the failure, not the reply. */
	CHECK_INT(w.replies, 1);
	CHECK_INT(w.last_status, IPC_S_UNAVAIL);
	buf_clear(&out);
	close(sp[1]);
	event_base_free(base);
}

TEST(channel_refuses_disallowed_sender)
{
	struct side m, st;
	struct ipc_DOMAIN_ADD_req req = { .name = "example.org" };

	base = event_base_new();
	/* A worker may not send an admin request; the store closes. */
	pair(&m, IPC_P_WORKER, IPC_P_STORE, &st, IPC_P_STORE, IPC_P_WORKER,
	    store_handlers);
	ipc_request(m.chan, IPC_T_DOMAIN_ADD, 0, &req, got_reply, &m);
	run_until(&st.closed, 1);
	CHECK_INT(st.closed, 1);
	CHECK_STR(st.why, "message not allowed from this peer");
	/* Our pending request fails when the peer goes away. */
	run_until(&m.replies, 1);
	CHECK_INT(m.replies, 1);
	CHECK_INT(m.last_status, IPC_S_UNAVAIL);
	ipc_chan_free(&m.chan);
	event_base_free(base);
}

TEST(channel_refuses_wrong_peer_and_garbage)
{
	struct side a, b;
	struct ipc_chan_params pb = { .self = IPC_P_STORE,
	    .peer = IPC_P_WORKER, .name = "b", .handlers = store_handlers,
	    .close_cb = side_closed, .arg = &b };
	int sp[2];

	base = event_base_new();
	/* a says it is ctl; b expects a worker. */
	pair(&a, IPC_P_CTL, IPC_P_STORE, &b, IPC_P_STORE, IPC_P_WORKER,
	    store_handlers);
	run_until(&b.closed, 1);
	CHECK_INT(b.closed, 1);
	CHECK_STR(b.why, "unexpected peer kind");
	ipc_chan_free(&a.chan);
	/* Raw garbage instead of a HELLO. */
	memset(&b, 0, sizeof(b));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == -1)
		abort();
	b.chan = ipc_chan_new(base, sp[1], &pb);
	CHECK(write(sp[0], "GET / HTTP/1.1\r\n\r\nxxxxxxxxxxxxxxxx", 34) == 34);
	run_until(&b.closed, 1);
	CHECK_INT(b.closed, 1);
	close(sp[0]);
	event_base_free(base);
}

static const struct harness_test tests[] = {
	TEST_ENTRY(every_message_round_trips),
	TEST_ENTRY(wire_rejects_bad_values),
	TEST_ENTRY(wire_skips_values),
	TEST_ENTRY(frame_header_checks),
	TEST_ENTRY(reply_too_large_becomes_error),
	TEST_ENTRY(rx_reads_rest_of_big_frame),
	TEST_ENTRY(channel_request_reply),
	TEST_ENTRY(channel_passes_descriptors),
	TEST_ENTRY(channel_request_with_descriptor),
	TEST_ENTRY(channel_reply_with_descriptor),
	TEST_ENTRY(channel_refuses_descriptor_with_reply),
	TEST_ENTRY(channel_refuses_disallowed_sender),
	TEST_ENTRY(channel_refuses_wrong_peer_and_garbage),
};

static int
test_main(int argc, char **argv)
{
	int r;

	log_init("test_ipc", LOG_DEST_STDERR, 0);
	r = harness_main(argc, argv, tests, sizeof(tests) / sizeof(tests[0]));
	buf_clear(&fill_listbuf);
	buf_clear(&fill_u64buf);
	return r;
}

int
main(int argc, char **argv)
{
	return test_main(argc, argv);
}
