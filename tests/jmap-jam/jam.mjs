// SPDX-License-Identifier: ISC
//
// jam.mjs: drives Bulwark's jmapd with jmap-jam, a JMAP client library
// written by others (https://github.com/htunnicliff/jmap-jam, pinned in
// package.json), so that the server is checked against a client it was
// not written with.  tests/integration/test_jmap_jam.py runs it against a
// server it started and checks what it prints, and the effects through IMAP.
//
// usage: node jam.mjs SESSION_URL USER PASSWORD
//    or: JAM_SESSION_URL=... JAM_USER=... JAM_PASSWORD=... node jam.mjs
//
// In order, through the library only: the session and the primary account;
// Mailbox/get and the inbox; Mailbox/set creating the mailbox "Jam Archive";
// Email/query of the inbox by receivedAt (oldest first) with Email/get of
// its result by a result reference; Email/set setting $seen and $flagged on
// the oldest email (a patch) and moving the second to the new mailbox (the
// whole mailboxIds); an upload of a small RFC 5322 message; Email/import of
// it into the new mailbox with $draft; Email/get of the imported email and
// Mailbox/get of the new mailbox; downloads of the imported email's blob
// and of the oldest email's blob.  Every step checks what the protocol
// promises and throws otherwise.  It prints one JSON object with what it
// saw (ids, subjects, states; downloaded bytes in base64) and exits 0, or
// prints the error to stderr and exits 1.
//
// Not covered: EmailSubmission (jmapd has none yet).

import { JamClient } from "jmap-jam";

const MAILBOX_NAME = "Jam Archive";

const sessionUrl = process.argv[2] ?? process.env.JAM_SESSION_URL;
const user = process.argv[3] ?? process.env.JAM_USER;
const password = process.argv[4] ?? process.env.JAM_PASSWORD;
if (!sessionUrl || !user || !password) {
	console.error("usage: node jam.mjs SESSION_URL USER PASSWORD");
	process.exit(2);
}

function check(cond, what, detail) {
	if (!cond)
		throw new Error(what + (detail === undefined ? "" :
		    ": " + JSON.stringify(detail)));
}

// The message uploaded and imported: CRLF line ends, as RFC 5322 has them.
const IMPORTED = [
	"From: Jam Client <jam@example.net>",
	`To: <${user}>`,
	"Subject: Imported by jmap-jam",
	"Date: Sat, 03 Feb 2024 04:05:06 +0000",
	"Message-ID: <jam-import@example.net>",
	"MIME-Version: 1.0",
	"Content-Type: text/plain; charset=us-ascii",
	"",
	"This message came in through Email/import.",
	""
].join("\r\n");
const IMPORTED_RECEIVED = "2024-02-03T04:05:06Z";

// What main() is doing, for the error message.
let step = "start";

async function main() {
	const out = {};

	step = "session";
	// jmap-jam sends "Authorization: Bearer <bearerToken>" and nothing
	// else; Bulwark has only HTTP Basic so far.  authHeader is a public
	// property of JamClient ("Headers to send with every request"), read
	// by every request, upload and download, and JamClient.loadSession()
	// is its public static method: setting both right after construction
	// is the library's own surface, not a patch of it.  The constructor
	// already started loading the session with the Bearer value; that
	// promise is dropped, and its rejection (a 401 is not a session) must
	// not end the process as an unhandled one.
	const client = new JamClient({ sessionUrl, bearerToken: "unused" });
	client.session.catch(() => {});
	client.authHeader = "Basic " +
	    Buffer.from(`${user}:${password}`, "utf8").toString("base64");
	client.session = JamClient.loadSession(sessionUrl, client.authHeader);

	// loadSession does not look at the status: check the session itself.
	const session = await client.session;
	check(typeof session.apiUrl === "string", "no session", session);
	const accountId = await client.getPrimaryAccount();
	check(typeof accountId === "string" && session.accounts[accountId],
	    "no primary mail account", session.primaryAccounts);
	out.session = {
		username: session.username,
		accountId,
		state: session.state,
		apiUrl: session.apiUrl,
		capabilities: Object.keys(session.capabilities).sort()
	};

	step = "Mailbox/get";
	// Mailbox/get: every mailbox, and the inbox among them.
	const [mboxes] = await client.api.Mailbox.get({ accountId, ids: null });
	const inbox = mboxes.list.find((m) => m.role === "inbox");
	check(inbox, "no inbox", mboxes.list);
	out.mailboxGet = {
		state: mboxes.state,
		inbox: inbox.id,
		inboxTotal: inbox.totalEmails,
		inboxUnread: inbox.unreadEmails,
		names: mboxes.list.map((m) => m.name).sort()
	};

	step = "Mailbox/set";
	// Mailbox/set: a new top-level mailbox.
	const [mset] = await client.api.Mailbox.set({
		accountId,
		create: { jam: { name: MAILBOX_NAME, parentId: null } }
	});
	check(mset.created?.jam?.id, "mailbox not created", mset);
	const archive = mset.created.jam.id;
	out.mailboxSet = {
		oldState: mset.oldState,
		newState: mset.newState,
		created: archive
	};

	step = "Email/query and Email/get";
	// Email/query of the inbox, oldest first, and Email/get of its ids by
	// a result reference (#ids), in one request.
	const [qg] = await client.requestMany((b) => {
		const q = b.Email.query({
			accountId,
			filter: { inMailbox: inbox.id },
			sort: [{ property: "receivedAt", isAscending: true }],
			calculateTotal: true
		});
		const g = b.Email.get({
			accountId,
			ids: q.$ref("/ids"),
			properties: ["subject", "from", "keywords", "mailboxIds",
			    "receivedAt", "blobId", "size", "messageId"]
		});
		return { q, g };
	});
	check(Array.isArray(qg.q.ids) && qg.q.ids.length >= 2,
	    "Email/query found too few", qg.q);
	check(qg.g.list.length === qg.q.ids.length, "Email/get lost some",
	    qg.g);
	// Email/get may answer in any order (RFC 8620 5.1): by the query's.
	const byId = new Map(qg.g.list.map((e) => [e.id, e]));
	check(qg.q.ids.every((id) => byId.has(id)), "Email/get lost some",
	    qg.g);
	out.query = {
		queryState: qg.q.queryState,
		total: qg.q.total,
		ids: qg.q.ids
	};
	out.emails = qg.q.ids.map((id) => byId.get(id));
	out.emailGetState = qg.g.state;

	step = "Email/set";
	// Email/set: flags on the oldest (patches of keywords), the second
	// moved to the new mailbox (the whole mailboxIds).
	const [flagged, moved] = qg.q.ids;
	const [eset] = await client.api.Email.set({
		accountId,
		update: {
			[flagged]: { "keywords/$seen": true,
			    "keywords/$flagged": true },
			[moved]: { mailboxIds: { [archive]: true } }
		}
	});
	check(eset.updated && flagged in eset.updated && moved in eset.updated,
	    "Email/set did not update both", eset);
	check(!eset.notUpdated || Object.keys(eset.notUpdated).length === 0,
	    "Email/set notUpdated", eset.notUpdated);
	out.emailSet = {
		oldState: eset.oldState,
		newState: eset.newState,
		flagged,
		moved
	};
	const [after] = await client.api.Email.get({
		accountId,
		ids: [flagged, moved],
		properties: ["keywords", "mailboxIds"]
	});
	out.afterSet = after.list;

	step = "upload";
	// Upload of a message, then Email/import of it.
	const bytes = Buffer.from(IMPORTED, "utf8");
	const up = await client.uploadBlob(accountId,
	    new Blob([bytes], { type: "message/rfc822" }));
	check(up.blobId && up.size === bytes.length && up.accountId === accountId,
	    "bad upload response", up);
	out.upload = {
		blobId: up.blobId,
		size: up.size,
		type: up.type,
		base64: bytes.toString("base64")
	};
	step = "Email/import";
	const [imp] = await client.api.Email.import({
		accountId,
		emails: {
			jam1: {
				blobId: up.blobId,
				mailboxIds: { [archive]: true },
				keywords: { $draft: true },
				receivedAt: IMPORTED_RECEIVED
			}
		}
	});
	check(imp.created?.jam1?.id, "Email/import did not create", imp);
	const created = imp.created.jam1;
	out.import = {
		oldState: imp.oldState,
		newState: imp.newState,
		created
	};

	step = "Email/get and Mailbox/get after the import";
	// The imported email as Email/get sees it, and the new mailbox.
	const [ig] = await client.api.Email.get({
		accountId,
		ids: [created.id],
		properties: ["subject", "from", "keywords", "mailboxIds",
		    "receivedAt", "blobId", "threadId", "size", "messageId"]
	});
	check(ig.list.length === 1, "imported email not found", ig);
	out.imported = ig.list[0];
	const [mg] = await client.api.Mailbox.get({ accountId, ids: [archive] });
	check(mg.list.length === 1, "new mailbox not found", mg);
	out.archive = {
		name: mg.list[0].name,
		role: mg.list[0].role,
		totalEmails: mg.list[0].totalEmails
	};

	step = "download";
	// Downloads of the imported email's blob and of a delivered one's.
	const dl = async (blobId, fileName) => {
		const res = await client.downloadBlob({
			accountId,
			blobId,
			mimeType: "message/rfc822",
			fileName
		});
		return {
			blobId,
			status: res.status,
			type: res.headers.get("Content-Type"),
			base64: Buffer.from(await res.arrayBuffer())
			    .toString("base64")
		};
	};
	out.downloadImported = await dl(out.imported.blobId, "imported.eml");
	out.downloadDelivered = await dl(byId.get(flagged).blobId,
	    "delivered.eml");

	process.stdout.write(JSON.stringify(out) + "\n");
}

// The library throws what the server answered: an Error, a problem details
// object, or (from requestMany) an array of method errors.
main().catch((err) => {
	console.error(`jam.mjs: failed at ${step}`);
	if (err instanceof Error) {
		console.error(err.stack);
		if (err.cause !== undefined)
			console.error("cause:", typeof err.cause === "object" &&
			    !(err.cause instanceof Error) ?
			    JSON.stringify(err.cause) : err.cause);
	} else {
		console.error("jmap error:", JSON.stringify(err));
	}
	process.exit(1);
});
