/*
 * NAME
 *	limits_rfc - every protocol limit of Sluice, in one place
 * DESCRIPTION
 *	Defaults and hard caps. Configuration may change a default but never
 *	past its hard cap. References are to RFC 5321 section 4.5.3.1 unless
 *	said otherwise.
 */
#ifndef SLUICE_LIMITS_RFC_H
#define SLUICE_LIMITS_RFC_H

/* 4.5.3.1.1: local-part 64 octets. */
#define LIM_LOCAL_PART 64
/* 4.5.3.1.2: domain 255 octets. */
#define LIM_DOMAIN 255
/* 4.5.3.1.3: path 256 octets including the angle brackets. */
#define LIM_PATH 256
/* 4.5.3.1.4: command line 512 octets including CRLF; ESMTP parameters
 * may extend MAIL and RCPT (RFC 1869 section 4.1.2), we allow this much. */
#define LIM_CMD_LINE 2048
/* 4.5.3.1.5: reply line 512 octets. */
#define LIM_REPLY_LINE 512
/* 4.5.3.1.6: text line 1000 octets including CRLF. We accept longer lines
 * in DATA (real mail breaks this) up to this hard cap. */
#define LIM_TEXT_LINE 998
/* 4.5.3.1.8: at least 100 recipients must be accepted. */
#define LIM_RCPT_DEFAULT 1000
#define LIM_RCPT_MAX 100000
/* RFC 4954 section 4: AUTH responses up to 12288 octets. */
#define LIM_AUTH_LINE 12288
/* Message size: default 25 MB, hard cap 1 GB. */
#define LIM_MSG_SIZE_DEFAULT (25LL * 1024 * 1024)
#define LIM_MSG_SIZE_MAX (1024LL * 1024 * 1024)
/* Header section (mx): default 1 MB. */
#define LIM_HEADER_SIZE_DEFAULT (1024LL * 1024)
/* Received headers before we call it a loop (RFC 5321 6.3). */
#define LIM_HOPS 50
/* RFC 8617 4.2.1: ARC instances 1..50; a longer chain fails. */
#define LIM_ARC_INSTANCE_MAX 50
/* Bytes of our own Authentication-Results copied into one
 * ARC-Authentication-Results (RFC 8617 4.1.1); more are not copied. */
#define LIM_ARC_RESULTS_MAX 8192
/* Errors per session before we hang up. */
#define LIM_SESSION_ERRORS 20
/* 4.5.3.2: timeouts in seconds. */
#define LIM_TIMEOUT_CMD 300
#define LIM_TIMEOUT_DATA_BLOCK 180
#define LIM_TIMEOUT_DATA_END 600
/* Whole session deadline, seconds: the default, and the most that
 * session_deadline may be set to. */
#define LIM_SESSION_DEADLINE 3600
#define LIM_SESSION_DEADLINE_MAX 86400
/* Least rate (bytes/s) that keeps a message (DATA, an IMAP literal)
 * coming in alive; as Postfix's smtpd_min_data_rate. */
#define LIM_MIN_DATA_RATE 500
/* Concurrent sessions per client address: an SMTP listener facing the
 * Internet, and one facing the organisation's own stages (LMTP). */
#define LIM_CLIENT_SESSIONS 10
#define LIM_CLIENT_SESSIONS_INNER 100
/* IMAP and POP3: seconds from connect to a completed login. */
#define LIM_LOGIN_TIMEOUT 60
/* Envelope fields: ENVID (RFC 3461 4.4) 100 chars, ORCPT 500. */
#define LIM_ENVID 100
#define LIM_ORCPT 500

/* IMAP (RFC 3501). RFC 7162 section 4 asks servers to take command
 * lines of at least 8192 octets; we take this much text per command,
 * literal data not counted. */
#define LIM_IMAP_LINE 65536
/* Literals other than APPEND's message (mailbox names, search strings,
 * passwords); APPEND's literal is bounded by max_message_size. */
#define LIM_IMAP_LITERAL 65536
/* Before login the only literals a client needs carry a user name, a
 * password or a SASL response: all of one command's literals together
 * stay within this, so an unauthenticated client can never make the
 * store buffer an APPEND-sized literal (a LITERAL+ one over it ends the
 * session). */
#define LIM_IMAP_PREAUTH_LITERAL 8192
/* Parenthesized lists nested deeper than this are a BAD (no parser
 * recursion anywhere, but the limit keeps lists sane). */
#define LIM_IMAP_DEPTH 100
/* Arguments (atoms, strings, lists) in one command. */
#define LIM_IMAP_ARGS 10000
/* Ranges in one sequence set (RFC 3501 9, sequence-set). */
#define LIM_IMAP_SEQ_RANGES 10000
/* Tag length (RFC 3501 9, tag: any ASTRING-CHAR but "+"). */
#define LIM_IMAP_TAG 64
/* Commands answered BAD (or refused logins) before we hang up. */
#define LIM_IMAP_ERRORS 20
/* RFC 3501 5.4: an autologout timer of at least 30 minutes once
 * authenticated; before authentication we allow 10 minutes. */
#define LIM_IMAP_TIMEOUT_AUTH 1800
#define LIM_IMAP_TIMEOUT_PREAUTH 600
/* RFC 2971 3.3: ID has at most 30 field-value pairs, fields of at most
 * 30 octets, values of at most 1024. */
#define LIM_IMAP_ID_PAIRS 30
#define LIM_IMAP_ID_FIELD 30
#define LIM_IMAP_ID_VALUE 1024
/* RFC 7162 3.2.5: expunged UIDs a folder remembers with their
 * mod-sequence for QRESYNC's VANISHED (EARLIER); past this the oldest
 * half is forgotten and older resyncs get every missing known UID. */
#define LIM_IMAP_VANISHED 20000
/* RFC 5256 SORT and THREAD: bytes of a sort key (base subject,
 * addr-mailbox, message identifier) kept per message, references kept
 * per message (the last ones), and messages one SORT or THREAD takes
 * (more is NO [LIMIT]): memory stays near 1 KB per message. */
#define LIM_IMAP_SORT_KEY 256
#define LIM_IMAP_THREAD_REFS 16
#define LIM_IMAP_SORT_MSGS 100000
/* RFC 5465 NOTIFY: event groups and mailbox names in one NOTIFY SET,
 * and folders whose changes wait to be reported to one session (past
 * this the oldest waiting change is reported at once). */
#define LIM_IMAP_NOTIFY_GROUPS 20
#define LIM_IMAP_NOTIFY_NAMES 100
#define LIM_IMAP_NOTIFY_PENDING 256

/* Users' allow and block lists of senders (the directory's
 * sender_lists, the snapshot spamd reads): entries per user. Not an
 * RFC's: a bound on what one user can make every message of theirs
 * cost, as SpamAssassin sites bound per-user whitelists. */
#define LIM_SENDER_RULES 1000

/* MIME structure (RFC 2045/2046), common/mime_tree.c: deepest nesting of
 * multiparts and message/rfc822 parts and most parts parsed in one
 * message (deeper or further content is the body of the last parsed
 * part; a stage may ask for less), longest unfolded header field value
 * looked at, most parameters of one Content-Type or Content-Disposition,
 * longest boundary honoured (RFC 2046 5.1.1 says 70; real mail is
 * longer). */
#define LIM_MIME_DEPTH 32
#define LIM_MIME_PARTS 2000
#define LIM_MIME_FIELD (256 * 1024)
#define LIM_MIME_PARAMS 64
#define LIM_MIME_BOUNDARY 200

/* A limit above as a string, for the defaults of config tables. */
#define LIM_STR_(x) #x
#define LIM_STR(x) LIM_STR_(x)

#endif
