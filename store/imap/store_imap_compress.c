/*
 * NAME
 *	store_imap_compress - COMPRESS DEFLATE (RFC 4978)
 * DESCRIPTION
 *	After the tagged OK (sent as it is), both directions of the session
 *	are raw DEFLATE streams (conn_compress; zip.h holds zlib). Once on,
 *	a second COMPRESS is NO [COMPRESSIONACTIVE]. Decompressed input is
 *	bounded by the session's input buffer like any other input.
 *	Faces the network.
 */
#include "log.h"
#include "store_imap_cmd.h"

void imap_cmd_compress(struct imap_sess *s, struct imap_cmd *cmd)
{
	if (cmd->nargs != 1 || !imap_arg_is(cmd, 0, "DEFLATE")) {
		imap_bad(s, cmd->tag, "Syntax: COMPRESS DEFLATE");
		return;
	}
	if (s->c->zip != NULL) {
		imap_no(s, cmd->tag, "[COMPRESSIONACTIVE] Already compressing");
		return;
	}
	imap_ok(s, cmd->tag, "DEFLATE active");
	if (conn_compress(s->c) < 0) {
		log_warn("%s: cannot start compression", s->id);
		imap_hangup(s);
		return;
	}
	log_info("%s: compression on", s->id);
}
