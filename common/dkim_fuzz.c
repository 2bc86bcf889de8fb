/*
 * NAME
 *	dkim_fuzz - libFuzzer target for DKIM canonicalization and signing
 * DESCRIPTION
 *	outmta signs whatever the inner stages hand it, so the header
 *	splitting, relaxed canonicalization and From: domain extraction see
 *	attacker-shaped messages. Signs every input with an Ed25519 key made
 *	at start-up. Build and run with `make fuzz`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim.h"
#include "tls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dkim_signer signer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64], err[256];
	struct sbuf pub;

	snprintf(path, sizeof(path), "/tmp/dkim-fuzz-%ld.pem", (long)getpid());
	sbuf_init(&pub, 4096);
	if (tls_key_generate(TLS_KEY_ED25519, path, &pub, err,
			     sizeof(err)) < 0)
		abort();
	signer.key = tls_key_load(path, err, sizeof(err));
	unlink(path);
	sbuf_free(&pub);
	if (signer.key == NULL)
		abort();
	snprintf(signer.domain, sizeof(signer.domain), "example.test");
	snprintf(signer.selector, sizeof(signer.selector), "fuzz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf out;
	char domain[256];
	const char *why;

	sbuf_init(&out, 1 << 20);
	if (dkim_sign(&signer, (const char *)data, size, 0, &out) == 0 &&
	    (out.len < 20 || memcmp(out.data, "DKIM-Signature: ", 16) != 0))
		abort();
	if (dkim_from_domain((const char *)data, size, domain, sizeof(domain),
			     &why) < 0 && domain[0] != '\0')
		abort();
	if (strlen(domain) >= sizeof(domain))
		abort();
	sbuf_free(&out);
	return 0;
}
