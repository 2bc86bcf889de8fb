/*
 * NAME
 *	box_seal - envelope encryption of the access boxes' message bodies
 * DESCRIPTION
 *	Three layers of AES-256-GCM keys (issue #17 item 4): a random key
 *	per message encrypts its body; that key is wrapped by the user's
 *	key; each user key is wrapped by the deployment key, which only the
 *	access boxes hold (a file, box_key_file). The storage (PostgreSQL)
 *	sees sealed blobs and wrapped user keys, never a key it can use.
 *	Rotating the deployment key re-wraps the user keys only; bodies stay
 *	as they are.
 *
 *	A sealed body (all integers in network order):
 *
 *	  0  "SLBX"            magic
 *	  4  1                 format version
 *	  5  1                 algorithm: AES-256-GCM
 *	  6  0 0               reserved (must be zero)
 *	  8  nonce(12) key(32) tag(16)  the message key, wrapped by the
 *	                       user key
 *	 68  nonce(12)         the body's nonce
 *	 80  tag(16)           the body's tag
 *	 96  ciphertext        as long as the body
 *
 *	Both seals authenticate the same associated data: the first 8 bytes
 *	above, then the user name and the blob's id, each preceded by its
 *	length (4 bytes), so a blob moved to another user or put in place of
 *	another message does not open. A wrapped user key (stored by
 *	box_keys.c) is version(1) nonce(12) key(32) tag(16), its associated
 *	data "sluice box user key", the deployment key's id and the user.
 *	Pure computation (no I/O) but for the key file functions.
 */
#ifndef SLUICE_BOX_SEAL_H
#define SLUICE_BOX_SEAL_H

#include <stddef.h>

struct sbuf;

#define BOX_SEAL_KEY_LEN 32
/* bytes a sealed body has beyond the body itself */
#define BOX_SEAL_OVERHEAD 96
/* a wrapped user key */
#define BOX_SEAL_WRAPPED_LEN 61
/* the id of a deployment key: 16 hex digits and a NUL */
#define BOX_SEAL_ID_LEN 17

/* Read the deployment key from path: refused (-1 with a reason naming
 * the file) unless it is a regular file owned by the effective user with
 * mode 0400 or 0600, holding one Base64 line of 32 bytes (lines starting
 * with '#' are comments). The key is wiped from every buffer but key. */
int box_seal_key_load(const char *path, unsigned char key[BOX_SEAL_KEY_LEN],
	char *err, size_t errlen);
/* Make a new random deployment key in a new file path (mode 0400; an
 * existing file is never replaced); its id goes to id. 0, or -1. */
int box_seal_key_generate(
	const char *path, char id[BOX_SEAL_ID_LEN], char *err, size_t errlen);
/* The public id of a deployment key (an HMAC of a fixed label: it tells
 * keys apart without saying anything about them). */
void box_seal_key_id(
	const unsigned char key[BOX_SEAL_KEY_LEN], char id[BOX_SEAL_ID_LEN]);

/* Wrap user's key ukey under the deployment key dkey into out. 0 or -1. */
int box_seal_wrap_user(const unsigned char dkey[BOX_SEAL_KEY_LEN],
	const char *user, const unsigned char ukey[BOX_SEAL_KEY_LEN],
	unsigned char out[BOX_SEAL_WRAPPED_LEN]);
/* Unwrap what box_seal_wrap_user() made for user: 0, or -1 when it was
 * wrapped for someone else, under another key, or was changed. */
int box_seal_unwrap_user(const unsigned char dkey[BOX_SEAL_KEY_LEN],
	const char *user, const void *wrapped, size_t len,
	unsigned char ukey[BOX_SEAL_KEY_LEN]);

/* Seal body[0..n) of user's blob id[0..idlen) under the user's key with a
 * new message key: appends BOX_SEAL_OVERHEAD + n bytes to out. 0, or -1
 * (out as it was). */
int box_seal_body(const unsigned char ukey[BOX_SEAL_KEY_LEN], const char *user,
	const void *id, size_t idlen, const void *body, size_t n,
	struct sbuf *out);
/* Open what box_seal_body() made: appends the body to out. 0, or -1 with
 * a reason (not sealed, unknown version, damaged or not this user's or
 * this blob's) and out as it was: a blob that does not open never
 * yields bytes. */
int box_seal_open(const unsigned char ukey[BOX_SEAL_KEY_LEN], const char *user,
	const void *id, size_t idlen, const void *blob, size_t n,
	struct sbuf *out, char *err, size_t errlen);
/* 1 if blob[0..n) starts like a sealed body (magic), else 0. */
int box_seal_is_sealed(const void *blob, size_t n);

#endif
