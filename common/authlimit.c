/*
 * NAME
 *	authlimit - failed-login delays and lockouts per client and per user
 * DESCRIPTION
 *	See authlimit.h. A fixed table of AUTHLIMIT_SLOTS entries, chained
 *	in a hash index; each entry keeps the times of its last failures
 *	(at most AUTHLIMIT_MAX_FAIL) and counts those inside the window, so
 *	the window slides. When the table is full, the entry whose last
 *	failure is the oldest makes room: memory never grows with the
 *	number of attackers. Keys are truncated to AUTHLIMIT_KEY bytes.
 *	Base layer.
 */
#include "authlimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits_rfc.h"

#define AUTHLIMIT_SLOTS 4096
#define AUTHLIMIT_BUCKETS 8192
#define AUTHLIMIT_MAX_FAIL 32
#define AUTHLIMIT_KEY 320
#define AUTHLIMIT_DELAY_MAX 8000

struct alent {
	char key[AUTHLIMIT_KEY + 1];
	uint64_t fails[AUTHLIMIT_MAX_FAIL]; /* ring of failure times */
	unsigned nfail;			    /* valid entries in fails */
	unsigned head;			    /* next slot to write */
	uint64_t last;			    /* last failure */
	int next;			    /* hash chain, -1 ends */
	int used;
};

struct authlimit {
	unsigned max_fail;
	uint64_t window, base_delay;
	struct alent e[AUTHLIMIT_SLOTS];
	int bucket[AUTHLIMIT_BUCKETS];
	int free_hint;
	void (*on_change)(void *arg, int ok, const char *key);
	void *on_change_arg;
};

struct authlimit *authlimit_new(unsigned max_fail, uint64_t window_ms,
				uint64_t base_delay_ms)
{
	struct authlimit *al = calloc(1, sizeof(*al));
	int i;

	if (al == NULL)
		return NULL;
	if (max_fail < 1)
		max_fail = 1;
	if (max_fail > AUTHLIMIT_MAX_FAIL)
		max_fail = AUTHLIMIT_MAX_FAIL;
	al->max_fail = max_fail;
	al->window = window_ms;
	al->base_delay = base_delay_ms;
	for (i = 0; i < AUTHLIMIT_BUCKETS; i++)
		al->bucket[i] = -1;
	return al;
}

void authlimit_free(struct authlimit **al)
{
	free(*al);
	*al = NULL;
}

/* FNV-1a over the (truncated) key */
static unsigned hash(const char *k)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; k[i] && i < AUTHLIMIT_KEY; i++) {
		h ^= (unsigned char)k[i];
		h *= 16777619u;
	}
	return h % AUTHLIMIT_BUCKETS;
}

static int key_eq(const struct alent *e, const char *k)
{
	return strncmp(e->key, k, AUTHLIMIT_KEY) == 0;
}

static struct alent *find(struct authlimit *al, const char *k)
{
	int i;

	for (i = al->bucket[hash(k)]; i >= 0; i = al->e[i].next)
		if (key_eq(&al->e[i], k))
			return &al->e[i];
	return NULL;
}

static void unlink_entry(struct authlimit *al, int idx)
{
	int *p = &al->bucket[hash(al->e[idx].key)];

	while (*p >= 0 && *p != idx)
		p = &al->e[*p].next;
	if (*p == idx)
		*p = al->e[idx].next;
	memset(&al->e[idx], 0, sizeof(al->e[idx]));
	al->e[idx].next = -1;
}

/* Failures of e inside the window that ends at now. */
static unsigned recent(const struct authlimit *al, const struct alent *e,
		       uint64_t now)
{
	unsigned i, n = 0;

	for (i = 0; i < e->nfail; i++)
		if (e->fails[i] + al->window > now)
			n++;
	return n;
}

/* A free slot, or the one with the oldest last failure, emptied. */
static int take_slot(struct authlimit *al)
{
	int i, oldest = 0;

	for (i = 0; i < AUTHLIMIT_SLOTS; i++) {
		int k = (al->free_hint + i) % AUTHLIMIT_SLOTS;

		if (!al->e[k].used) {
			al->free_hint = (k + 1) % AUTHLIMIT_SLOTS;
			return k;
		}
	}
	for (i = 1; i < AUTHLIMIT_SLOTS; i++)
		if (al->e[i].last < al->e[oldest].last)
			oldest = i;
	unlink_entry(al, oldest);
	return oldest;
}

int authlimit_blocked(struct authlimit *al, const char *key, uint64_t now_ms)
{
	struct alent *e = find(al, key);

	return e != NULL && recent(al, e, now_ms) >= al->max_fail;
}

/* Record a failure of key at now; its failures inside the window. */
static unsigned record_fail(struct authlimit *al, const char *key,
			    uint64_t now_ms)
{
	struct alent *e = find(al, key);
	size_t len;
	int idx;

	if (e == NULL) {
		unsigned h = hash(key);

		idx = take_slot(al);
		e = &al->e[idx];
		len = strnlen(key, AUTHLIMIT_KEY);
		memcpy(e->key, key, len);
		e->key[len] = '\0';
		e->used = 1;
		e->next = al->bucket[h];
		al->bucket[h] = idx;
	}
	e->fails[e->head] = now_ms;
	e->head = (e->head + 1) % AUTHLIMIT_MAX_FAIL;
	if (e->nfail < AUTHLIMIT_MAX_FAIL)
		e->nfail++;
	if (now_ms > e->last)
		e->last = now_ms;
	return recent(al, e, now_ms);
}

static void forget(struct authlimit *al, const char *key)
{
	struct alent *e = find(al, key);

	if (e != NULL)
		unlink_entry(al, (int)(e - al->e));
}

uint64_t authlimit_fail(struct authlimit *al, const char *key,
			uint64_t now_ms)
{
	uint64_t delay;
	unsigned n;

	n = record_fail(al, key, now_ms);
	if (al->on_change)
		al->on_change(al->on_change_arg, 0, key);
	/* base, 2 x base, 4 x base ... at most 8 s */
	delay = al->base_delay;
	for (; n > 1 && delay > 0 && delay < AUTHLIMIT_DELAY_MAX; n--)
		delay *= 2;
	return delay < AUTHLIMIT_DELAY_MAX ? delay : AUTHLIMIT_DELAY_MAX;
}

void authlimit_ok(struct authlimit *al, const char *key)
{
	forget(al, key);
	if (al->on_change)
		al->on_change(al->on_change_arg, 1, key);
}

void authlimit_on_change(struct authlimit *al,
			 void (*fn)(void *arg, int ok, const char *key),
			 void *arg)
{
	al->on_change = fn;
	al->on_change_arg = arg;
}

void authlimit_note(struct authlimit *al, int ok, const char *key,
		    uint64_t at_ms)
{
	if (ok)
		forget(al, key);
	else
		record_fail(al, key, at_ms);
}

void authlimit_user_key(const char *user, char *out, size_t n)
{
	size_t i;

	snprintf(out, n, "user:%s", user);
	for (i = 5; i < n && out[i]; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
}

void authlimit_ip_key(const char *addr, char *out, size_t n)
{
	snprintf(out, n, "ip:%s", addr);
}

int authlimit_login_blocked(struct authlimit *al, const char *client,
			    const char *user, uint64_t now_ms)
{
	char key[LIM_PATH + 16];

	if (al == NULL)
		return 0;
	if (client) {
		authlimit_ip_key(client, key, sizeof(key));
		if (authlimit_blocked(al, key, now_ms))
			return 1;
	}
	if (user == NULL)
		return 0;
	authlimit_user_key(user, key, sizeof(key));
	return authlimit_blocked(al, key, now_ms);
}

uint64_t authlimit_login_failed(struct authlimit *al, const char *client,
				const char *user, uint64_t now_ms)
{
	char key[LIM_PATH + 16];
	uint64_t d, du;

	if (al == NULL)
		return 0;
	authlimit_ip_key(client, key, sizeof(key));
	d = authlimit_fail(al, key, now_ms);
	if (user) {
		authlimit_user_key(user, key, sizeof(key));
		du = authlimit_fail(al, key, now_ms);
		d = du > d ? du : d;
	}
	return d;
}
