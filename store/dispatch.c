/* SPDX-License-Identifier: ISC */
/*
 * dispatch.c: which message each peer of storaged may send and who handles
 * it.  ipc_types.def says which peer kinds may send a type at all; these
 * tables say what storaged takes from each channel.
 */
#include "dispatch.h"
#include "admin.h"
#include "deliver.h"
#include "mail_api.h"
#include "notify.h"
#include "storaged.h"
#include "worker.h"

const struct ipc_handler dispatch_master[] = {
	{ IPC_T_STORE_PEER,	storaged_store_peer },
	{ IPC_T_SHUTDOWN,	storaged_shutdown_msg },
	{ IPC_T_SET_TRACE,	storaged_set_trace },
	{ 0, NULL }
};

const struct ipc_handler dispatch_worker[] = {
	{ IPC_T_SESSION_OPEN,	worker_session_open },
	{ IPC_T_SESSION_CLOSE,	worker_session_close },
	{ IPC_T_AUTH,		worker_auth },
	{ IPC_T_SESSION_RESUME,	worker_session_resume },
	{ IPC_T_SESSION_INFO,	worker_session_info },
	{ IPC_T_SESSION_ADMIT,	worker_session_admit },
	{ IPC_T_RCPT_RESOLVE,	deliver_rcpt_resolve },
	{ IPC_T_DELIVER,	deliver_deliver },
	{ IPC_T_MBOX_LIST,	mail_mbox_list },
	{ IPC_T_MBOX_CREATE,	mail_mbox_create },
	{ IPC_T_MBOX_DELETE,	mail_mbox_delete },
	{ IPC_T_MBOX_RENAME,	mail_mbox_rename },
	{ IPC_T_MBOX_SUBSCRIBE,	mail_mbox_subscribe },
	{ IPC_T_SUBSCRIPTION_SET, mail_subscription_set },
	{ IPC_T_SUBSCRIPTION_LIST, mail_subscription_list },
	{ IPC_T_MBOX_SELECT,	mail_mbox_select },
	{ IPC_T_MBOX_CLOSE,	mail_mbox_close },
	{ IPC_T_MSG_UIDS,	mail_msg_uids },
	{ IPC_T_MBOX_SYNC,	mail_mbox_sync },
	{ IPC_T_MSG_FETCH,	mail_msg_fetch },
	{ IPC_T_MSG_BODY,	mail_msg_body },
	{ IPC_T_MSG_BODY_FILE,	mail_msg_body_file },
	{ IPC_T_MSG_FILE,	mail_msg_file },
	{ IPC_T_MSG_STORE,	mail_msg_store },
	{ IPC_T_MSG_EXPUNGE,	mail_msg_expunge },
	{ IPC_T_MSG_COPY,	mail_msg_copy },
	{ IPC_T_MSG_APPEND,	mail_msg_append },
	{ IPC_T_QUOTA_GET,	mail_quota_get },
	{ IPC_T_CHANGES_GET,	mail_changes_get },
	{ IPC_T_METADATA_GET,	mail_meta_get },
	{ IPC_T_METADATA_SET,	mail_meta_set },
	{ IPC_T_MBOX_RECENT,	mail_mbox_recent },
	{ IPC_T_ACCOUNT_WATCH,	notify_account_watch },
	{ IPC_T_MBOX_THREADS,	mail_mbox_threads },
	{ IPC_T_EMAIL_LIST,	mail_email_list },
	{ IPC_T_EMAIL_GET,	mail_email_get },
	{ IPC_T_EMAIL_BODY,	mail_email_body },
	{ IPC_T_THREAD_GET,	mail_thread_get },
	{ IPC_T_EMAIL_SET,	mail_email_set },
	{ IPC_T_BLOB_UPLOAD,	mail_blob_upload },
	{ IPC_T_BLOB_FILE,	mail_blob_file },
	{ IPC_T_IDENTITY_LIST,	mail_identity_list },
	{ IPC_T_IDENTITY_PUT,	mail_identity_put },
	{ IPC_T_IDENTITY_DEL,	mail_identity_del },
	{ IPC_T_VACATION_GET,	mail_vacation_get },
	{ IPC_T_VACATION_SET,	mail_vacation_set },
	{ IPC_T_SUBMIT,		mail_submit },
	{ IPC_T_SUBMIT_LIST,	mail_submit_list },
	{ IPC_T_SUBMIT_CANCEL,	mail_submit_cancel },
	{ IPC_T_SUBMIT_DEL,	mail_submit_del },
	{ IPC_T_RELAY_TAKE,	mail_relay_take },
	{ IPC_T_RELAY_DONE,	mail_relay_done },
	{ IPC_T_PUSHSUB_LIST,	mail_pushsub_list },
	{ IPC_T_PUSHSUB_CREATE,	mail_pushsub_create },
	{ IPC_T_PUSHSUB_UPDATE,	mail_pushsub_update },
	{ IPC_T_PUSHSUB_DEL,	mail_pushsub_del },
	{ IPC_T_PUSH_TAKE,	mail_push_take },
	{ IPC_T_PUSH_DONE,	mail_push_done },
	{ 0, NULL }
};

const struct ipc_handler dispatch_ctl[] = {
	{ IPC_T_DOMAIN_ADD,	admin_domain_add },
	{ IPC_T_DOMAIN_DEL,	admin_domain_del },
	{ IPC_T_DOMAIN_LIST,	admin_domain_list },
	{ IPC_T_ACCOUNT_ADD,	admin_account_add },
	{ IPC_T_ACCOUNT_DEL,	admin_account_del },
	{ IPC_T_ACCOUNT_PASSWD,	admin_account_passwd },
	{ IPC_T_ACCOUNT_LIST,	admin_account_list },
	{ IPC_T_ACCOUNT_SHOW,	admin_account_show },
	{ IPC_T_ALIAS_ADD,	admin_alias_add },
	{ IPC_T_ALIAS_DEL,	admin_alias_del },
	{ IPC_T_ALIAS_LIST,	admin_alias_list },
	{ IPC_T_QUOTA_SET,	admin_quota_set },
	{ IPC_T_MAILBOX_LIST,	admin_mailbox_list },
	{ IPC_T_MESSAGE_LIST,	admin_message_list },
	{ IPC_T_MESSAGE_GET,	admin_message_get },
	{ IPC_T_STORE_PRUNE,	admin_store_prune },
	{ 0, NULL }
};
