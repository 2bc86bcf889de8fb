/*
 * NAME
 *	sluice-dkim-keygen - make a DKIM key and print its DNS record
 * SYNOPSIS
 *	sluice-dkim-keygen -t rsa|ed25519 -d domain -s selector -o key.pem
 * DESCRIPTION
 *	Writes the private key (PEM, mode 0600; an existing file is never
 *	overwritten) and prints the TXT record to publish, in zone-file
 *	form, split into strings of at most 255 characters (RFC 1035
 *	3.3.14). RSA keys have 2048 bits (RFC 8301); Ed25519 follows
 *	RFC 8463. Use the key in outmta's dkim_keys = domain:selector:path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbuf.h"
#include "tls.h"

static void usage(void)
{
	fprintf(stderr, "usage: sluice-dkim-keygen -t rsa|ed25519 -d domain "
		"-s selector -o key.pem\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *type = "rsa", *domain = NULL, *sel = NULL, *out = NULL;
	struct sbuf rec, pub;
	char err[256];
	size_t i;
	int c;

	while ((c = getopt(argc, argv, "t:d:s:o:")) != -1) {
		switch (c) {
		case 't':
			type = optarg;
			break;
		case 'd':
			domain = optarg;
			break;
		case 's':
			sel = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			usage();
		}
	}
	if (!domain || !sel || !out || optind != argc ||
	    (strcmp(type, "rsa") && strcmp(type, "ed25519")))
		usage();
	sbuf_init(&pub, 8192);
	sbuf_init(&rec, 8192);
	if (tls_key_generate(strcmp(type, "rsa") ? TLS_KEY_ED25519
			     : TLS_KEY_RSA, out, &pub, err, sizeof(err)) < 0) {
		fprintf(stderr, "sluice-dkim-keygen: %s\n", err);
		return 1;
	}
	sbuf_printf(&rec, "v=DKIM1; k=%s; p=%s", type, pub.data);
	printf("%s._domainkey.%s. IN TXT (", sel, domain);
	for (i = 0; i < rec.len; i += 255)
		printf(" \"%.*s\"", (int)(rec.len - i > 255 ? 255 : rec.len - i),
		       rec.data + i);
	printf(" )\n");
	sbuf_free(&pub);
	sbuf_free(&rec);
	return 0;
}
