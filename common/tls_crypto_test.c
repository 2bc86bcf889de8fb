/*
 * NAME
 *	tls_crypto_test - AES-256-GCM of the OpenSSL adapter
 * DESCRIPTION
 *	Known answers from the GCM specification's test cases 13, 14 and 16
 *	(McGrew and Viega, "The Galois/Counter Mode of Operation", the
 *	256-bit cases NIST's GCM validation uses), round trips with random
 *	nonces, and tampering: every flipped byte of ciphertext, tag, nonce
 *	and associated data, and a wrong key, must fail to open.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tls.h"

struct kat {
	const char *name, *key, *nonce, *aad, *pt, *ct, *tag;
};

static const struct kat kats[] = {
	{"case 13: empty",
		"00000000000000000000000000000000"
		"00000000000000000000000000000000",
		"000000000000000000000000", "", "", "",
		"530f8afbc74536b9a963b4f1c4cb738b"},
	{"case 14: one zero block",
		"00000000000000000000000000000000"
		"00000000000000000000000000000000",
		"000000000000000000000000", "",
		"00000000000000000000000000000000",
		"cea7403d4d606b6e074ec5d3baf39d18",
		"d0d1c8a799996bf0265b98b5d48ab919"},
	{"case 16: partial block with aad",
		"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f94673083"
		"08",
		"cafebabefacedbaddecaf888",
		"feedfacedeadbeeffeedfacedeadbeefabaddad2",
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a"
		"72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1"
		"aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
		"76fc6ece0f4e1768cddf8853bb2d551b"},
};

static size_t unhex(const char *s, unsigned char *out)
{
	size_t n = strlen(s) / 2, i;

	for (i = 0; i < n; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
	return n;
}

static void test_known_answers(void)
{
	size_t i;

	for (i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		const struct kat *k = &kats[i];
		unsigned char key[32], nonce[12], aad[64], pt[64], ct[64];
		unsigned char tag[16], want_ct[64], want_tag[16], out[64];
		size_t klen = unhex(k->key, key), nlen = unhex(k->nonce, nonce);
		size_t alen = unhex(k->aad, aad), plen = unhex(k->pt, pt);

		CHECK(klen == 32 && nlen == 12, k->name);
		CHECK(unhex(k->ct, want_ct) == plen, k->name);
		unhex(k->tag, want_tag);
		CHECK(tls_aead_seal_nonce(
			      key, nonce, aad, alen, pt, plen, ct, tag) == 0,
			k->name);
		CHECK(memcmp(ct, want_ct, plen) == 0, k->name);
		CHECK(memcmp(tag, want_tag, 16) == 0, k->name);
		CHECK(tls_aead_open(key, nonce, aad, alen, want_ct, plen,
			      want_tag, out) == 0,
			k->name);
		CHECK(memcmp(out, pt, plen) == 0, k->name);
	}
}

struct sealed {
	unsigned char key[32], nonce[12], tag[16], aad[27], ct[30], out[30];
};

/* flip each byte of part[0..n) in turn: how many of those open */
static int opens_flipped(struct sealed *s, unsigned char *part, size_t n)
{
	size_t i;
	int opened = 0;

	for (i = 0; i < n; i++) {
		part[i] ^= 0x01;
		opened +=
			tls_aead_open(s->key, s->nonce, s->aad, sizeof(s->aad),
				s->ct, sizeof(s->ct), s->tag, s->out) == 0;
		part[i] ^= 0x01;
	}
	return opened;
}

/* seal a message, then flip every byte of every part in turn */
static void test_tamper(void)
{
	static const char msg[30] = "Subject: secret\r\n\r\nthe body\r\n";
	static const char ad[27] = "alice@example.test\0blob 42";
	struct sealed s;
	unsigned char key2[32];
	size_t i;
	int bad;

	CHECK(tls_random(s.key, sizeof(s.key)) == 0, "random key");
	memcpy(s.aad, ad, sizeof(s.aad));
	CHECK(tls_aead_seal(s.key, s.aad, sizeof(s.aad), msg, sizeof(msg), s.ct,
		      s.nonce, s.tag) == 0,
		"seal");
	CHECK(memcmp(s.ct, msg, sizeof(msg)) != 0, "ciphertext differs");
	CHECK(tls_aead_open(s.key, s.nonce, s.aad, sizeof(s.aad), s.ct,
		      sizeof(s.ct), s.tag, s.out) == 0 &&
			memcmp(s.out, msg, sizeof(msg)) == 0,
		"round trip");
	CHECK(opens_flipped(&s, s.ct, sizeof(s.ct)) == 0,
		"every ciphertext byte is authenticated");
	CHECK(opens_flipped(&s, s.tag, sizeof(s.tag)) == 0,
		"every tag byte counts");
	CHECK(opens_flipped(&s, s.aad, sizeof(s.aad)) == 0,
		"every aad byte is authenticated");
	CHECK(opens_flipped(&s, s.nonce, sizeof(s.nonce)) == 0,
		"every nonce byte counts");
	CHECK(tls_aead_open(s.key, s.nonce, s.aad, sizeof(s.aad) - 1, s.ct,
		      sizeof(s.ct), s.tag, s.out) < 0,
		"shorter aad");
	CHECK(tls_aead_open(s.key, s.nonce, s.aad, sizeof(s.aad), s.ct,
		      sizeof(s.ct) - 1, s.tag, s.out) < 0,
		"truncated ciphertext");
	/* a failed open leaves nothing of the plaintext behind */
	for (bad = 0, i = 0; i < sizeof(s.out) - 1; i++)
		bad += s.out[i] != 0;
	CHECK(bad == 0, "failed open zeroes its output");
	memcpy(key2, s.key, sizeof(key2));
	key2[31] ^= 1;
	CHECK(tls_aead_open(key2, s.nonce, s.aad, sizeof(s.aad), s.ct,
		      sizeof(s.ct), s.tag, s.out) < 0,
		"wrong key");
	CHECK(tls_aead_open(s.key, s.nonce, s.aad, sizeof(s.aad), s.ct,
		      sizeof(s.ct), s.tag, s.out) == 0,
		"still opens after all that");
}

/* two seals of one message never share a nonce or a ciphertext */
static void test_fresh_nonces(void)
{
	unsigned char key[32], n1[12], n2[12], t1[16], t2[16];
	unsigned char c1[16], c2[16], buf[16];

	memset(buf, 'x', sizeof(buf));
	CHECK(tls_random(key, sizeof(key)) == 0, "key");
	CHECK(tls_aead_seal(key, NULL, 0, buf, 16, c1, n1, t1) == 0 &&
			tls_aead_seal(key, NULL, 0, buf, 16, c2, n2, t2) == 0,
		"seal");
	CHECK(memcmp(n1, n2, 12) != 0, "nonces differ");
	CHECK(memcmp(c1, c2, 16) != 0, "ciphertexts differ");
	/* in place */
	CHECK(tls_aead_open(key, n1, NULL, 0, c1, 16, t1, c1) == 0 &&
			memcmp(c1, buf, 16) == 0,
		"open in place");
	CHECK(tls_memeq(n1, n1, 12) == 1 && tls_memeq(n1, n2, 12) == 0,
		"memeq");
}

int main(void)
{
	test_known_answers();
	test_tamper();
	test_fresh_nonces();
	return test_done();
}
