/*
 * NAME
 *	store_imap_sort - SORT and THREAD (RFC 5256), and their UID forms
 * DESCRIPTION
 *	SORT (criteria) charset keys: ARRIVAL, CC, DATE, FROM, SIZE,
 *	SUBJECT, TO, each maybe REVERSE; ties go by sequence number. THREAD
 *	ORDEREDSUBJECT groups by base subject (RFC 5256 2.1), the first
 *	message of a group by sent date the parent of the others; THREAD
 *	REFERENCES builds the trees of section 4 from Message-ID,
 *	References and In-Reply-To (the five steps: link, root set, prune
 *	empty containers, merge by subject, sort by sent date). The sent
 *	date is the Date: field, else the INTERNALDATE.
 *
 *	Hostile folders stay bounded: at most LIM_IMAP_SORT_MSGS messages
 *	(else NO [LIMIT]); keys of LIM_IMAP_SORT_KEY bytes; identifiers
 *	kept as 64-bit hashes, LIM_IMAP_THREAD_REFS references a message;
 *	no recursion (trees are walked with explicit stacks, as a reply
 *	chain may be as deep as the folder is large), and the loop check
 *	while linking walks at most THREAD_WALK_MAX parents. Faces the
 *	network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "store.h"
#include "store_imap_cmd.h"
#include "store_mbox.h"
#include "store_mime.h"

/* Parents walked looking for a loop before a link is given up. */
#define THREAD_WALK_MAX 100000
#define NONE ((size_t)-1)

enum sort_key { K_ARRIVAL, K_CC, K_DATE, K_FROM, K_SIZE, K_SUBJECT, K_TO };

struct crit {
	enum sort_key key;
	int reverse;
};

/* What SORT and THREAD know of one message. */
struct smsg {
	uint32_t seq, id;	/* id: sequence number or UID, as sent */
	time_t arrival, date;
	long long size;
	char *subject, *from, *to, *cc;
	int reply;		/* the subject was a reply/forward */
	uint64_t msgid;		/* hash; 0: none */
	uint64_t refs[LIM_IMAP_THREAD_REFS];
	size_t nrefs;
};

static const struct {
	const char *name;
	enum sort_key key;
} keys[] = {
	{"ARRIVAL", K_ARRIVAL}, {"CC", K_CC}, {"DATE", K_DATE},
	{"FROM", K_FROM}, {"SIZE", K_SIZE}, {"SUBJECT", K_SUBJECT},
	{"TO", K_TO},
};

/* 64-bit FNV-1a; 0 is kept for "no identifier". */
static uint64_t hash_id(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

static char *dup_key(const struct sbuf *b)
{
	char *s = malloc(b->len + 1);

	if (s == NULL)
		log_fatal("out of memory");
	memcpy(s, b->data ? b->data : "", b->len);
	s[b->len] = '\0';
	return s;
}

/* Fill m from the message (header keys only when need_hdr). */
static void load(struct imap_sess *s, struct smsg *m, uint32_t seq,
		 int uid, int need_hdr, int thread)
{
	const struct mbox_msg *mm = mbox_get(s->mbox, seq);
	struct mime_part *root = NULL;
	struct sbuf data, b, refs;
	const char *p;
	time_t t;

	memset(m, 0, sizeof(*m));
	m->seq = seq;
	m->id = uid ? mm->uid : seq;
	m->arrival = m->date = mm->internaldate;
	m->size = mm->size;
	if (!need_hdr)
		return;
	sbuf_init(&data, (size_t)imap_store(s)->cfg->max_message_size * 2 +
		  65536);
	sbuf_init(&b, 1 << 20);
	if (mbox_read(s->mbox, seq, &data) == 0)
		root = mime_parse(data.data ? data.data : "", data.len, NULL);
	if (root) {
		if ((t = mime_date(root)) != (time_t)-1)
			m->date = t;
		m->reply = mime_base_subject(root, &b) == 1;
	}
	m->subject = dup_key(&b);
	sbuf_reset(&b);
	if (root && !thread)
		mime_first_mailbox(root, "from", &b);
	m->from = dup_key(&b);
	sbuf_reset(&b);
	if (root && !thread)
		mime_first_mailbox(root, "to", &b);
	m->to = dup_key(&b);
	sbuf_reset(&b);
	if (root && !thread)
		mime_first_mailbox(root, "cc", &b);
	m->cc = dup_key(&b);
	if (root && thread) {
		sbuf_reset(&b);
		sbuf_init(&refs, 1 << 20);
		mime_thread_ids(root, &b, &refs);
		if (b.len)	/* "<id>" and its NUL */
			m->msgid = hash_id(b.data, strlen(b.data));
		for (p = refs.data; p && p < refs.data + refs.len &&
		     m->nrefs < LIM_IMAP_THREAD_REFS; p += strlen(p) + 1)
			m->refs[m->nrefs++] = hash_id(p, strlen(p));
		sbuf_free(&refs);
	}
	mime_free(&root);
	sbuf_free(&b);
	sbuf_free(&data);
}

static void smsgs_free(struct smsg *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].subject);
		free(v[i].from);
		free(v[i].to);
		free(v[i].cc);
	}
	free(v);
}

/* Search, then load what the keys need: the messages, or NULL after a
 * reply was sent. */
static struct smsg *gather(struct imap_sess *s, struct imap_cmd *cmd,
			   size_t first, int need_hdr, int thread,
			   size_t *n)
{
	uint32_t *hits;
	uint64_t top;
	struct smsg *v;
	size_t i;
	int rc;

	rc = imap_search_keys(s, cmd, first, &hits, n, &top);
	if (rc < 0) {
		if (rc == -1)
			imap_bad(s, cmd->tag, "Invalid search key");
		else
			imap_no(s, cmd->tag, "Out of memory");
		return NULL;
	}
	if (*n > LIM_IMAP_SORT_MSGS) {
		free(hits);
		imap_no(s, cmd->tag, "[LIMIT] Too many messages to %s",
			cmd->name);
		return NULL;
	}
	v = calloc(*n ? *n : 1, sizeof(*v));
	if (v == NULL) {
		free(hits);
		imap_no(s, cmd->tag, "Out of memory");
		return NULL;
	}
	for (i = 0; i < *n; i++)
		load(s, &v[i], hits[i], cmd->uid, need_hdr, thread);
	free(hits);
	return v;
}

/* ---- SORT ---- */

/* The criteria of this SORT, for the comparison (one loop: no
 * concurrency). */
static const struct crit *sort_crit;
static size_t sort_ncrit;

static int cmp_str(const char *a, const char *b)
{
	int c = strcmp(a, b);

	return c < 0 ? -1 : c > 0;
}

static int cmp_num(long long a, long long b)
{
	return a < b ? -1 : a > b;
}

static int cmp_smsg(const void *x, const void *y)
{
	const struct smsg *a = x, *b = y;
	size_t i;
	int c = 0;

	for (i = 0; i < sort_ncrit && c == 0; i++) {
		switch (sort_crit[i].key) {
		case K_ARRIVAL:
			c = cmp_num(a->arrival, b->arrival);
			break;
		case K_DATE:
			c = cmp_num(a->date, b->date);
			break;
		case K_SIZE:
			c = cmp_num(a->size, b->size);
			break;
		case K_SUBJECT:
			c = cmp_str(a->subject, b->subject);
			break;
		case K_FROM:
			c = cmp_str(a->from, b->from);
			break;
		case K_TO:
			c = cmp_str(a->to, b->to);
			break;
		case K_CC:
			c = cmp_str(a->cc, b->cc);
			break;
		}
		if (sort_crit[i].reverse)
			c = -c;
	}
	return c ? c : cmp_num(a->seq, b->seq);
}

/* "(criteria)" at args[0]: the criteria; 0, or -1 when malformed. */
static int parse_crit(const struct imap_cmd *cmd, struct crit *c, size_t *n,
		      int *need_hdr)
{
	size_t i, k, end;
	int rev = 0;

	*n = 0;
	*need_hdr = 0;
	if (cmd->nargs < 3 || cmd->args[0].type != IMAP_ARG_LIST ||
	    cmd->args[0].nsub == 0)
		return -1;
	end = imap_arg_next(cmd, 0);
	for (i = 1; i < end; i++) {
		if (imap_arg_is(cmd, i, "REVERSE") && !rev) {
			rev = 1;
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (imap_arg_is(cmd, i, keys[k].name))
				break;
		if (k == sizeof(keys) / sizeof(keys[0]) || *n == 16)
			return -1;
		c[*n].key = keys[k].key;
		c[(*n)++].reverse = rev;
		rev = 0;
		if (keys[k].key != K_ARRIVAL && keys[k].key != K_SIZE)
			*need_hdr = 1;
	}
	return rev || *n == 0 ? -1 : 0;
}

void imap_cmd_sort(struct imap_sess *s, struct imap_cmd *cmd)
{
	struct crit crit[16];
	struct smsg *v;
	struct sbuf o;
	size_t n, i;
	int need_hdr;
	const char *cs;

	if (parse_crit(cmd, crit, &n, &need_hdr) < 0 ||
	    (cs = imap_arg_str(cmd, imap_arg_next(cmd, 0))) == NULL) {
		imap_bad(s, cmd->tag, "Syntax: SORT (criteria) charset keys");
		return;
	}
	if (imap_search_charset(s, cmd, cs) < 0)
		return;
	sort_crit = crit;
	sort_ncrit = n;
	v = gather(s, cmd, imap_arg_next(cmd, 0) + 1, need_hdr, 0, &n);
	if (v == NULL)
		return;
	qsort(v, n, sizeof(*v), cmp_smsg);
	sbuf_init(&o, (size_t)-1 / 4);
	sbuf_puts(&o, "* SORT");
	for (i = 0; i < n; i++)
		sbuf_printf(&o, " %u", v[i].id);
	sbuf_puts(&o, "\r\n");
	conn_write(s->c, o.data, o.len);
	sbuf_free(&o);
	smsgs_free(v, n);
	imap_ok(s, cmd->tag, "%sSORT completed", cmd->uid ? "UID " : "");
}

/* ---- THREAD: containers (RFC 5256 4) ---- */

struct cont {
	size_t msg;		/* index in the messages, NONE: empty */
	size_t parent, child, next;
	uint64_t id;		/* hashed Message-ID, 0: none */
	time_t date;		/* for sorting: of the message or the
				 * first child */
	uint32_t seq;
};

struct tree {
	struct cont *c;
	size_t n, cap;
	size_t *table;		/* open addressing: id -> container */
	size_t tcap;
	struct smsg *m;
};

static size_t cont_new(struct tree *t, uint64_t id, size_t msg)
{
	struct cont *x;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		x = realloc(t->c, t->cap * sizeof(*x));
		if (x == NULL)
			log_fatal("out of memory");
		t->c = x;
	}
	x = &t->c[t->n];
	x->msg = msg;
	x->parent = x->child = x->next = NONE;
	x->id = id;
	x->date = 0;
	x->seq = 0;
	return t->n++;
}

/* The container of id, made (empty) when there is none. */
static size_t by_id(struct tree *t, uint64_t id)
{
	size_t i = (size_t)id & (t->tcap - 1);

	while (t->table[i] != NONE) {
		if (t->c[t->table[i]].id == id)
			return t->table[i];
		i = (i + 1) & (t->tcap - 1);
	}
	t->table[i] = cont_new(t, id, NONE);
	return t->table[i];
}

static void unlink_child(struct tree *t, size_t c)
{
	size_t p = t->c[c].parent, *pp;

	if (p == NONE)
		return;
	for (pp = &t->c[p].child; *pp != NONE; pp = &t->c[*pp].next)
		if (*pp == c) {
			*pp = t->c[c].next;
			break;
		}
	t->c[c].parent = NONE;
	t->c[c].next = NONE;
}

/* Make c a child of p unless that would make a loop (or c is p). */
static void link_child(struct tree *t, size_t p, size_t c)
{
	size_t a, steps = 0;

	for (a = p; a != NONE; a = t->c[a].parent)
		if (a == c || ++steps > THREAD_WALK_MAX)
			return;
	t->c[c].parent = p;
	t->c[c].next = t->c[p].child;
	t->c[p].child = c;
}

/* Step 1: the containers of the messages and their references. */
static void link_all(struct tree *t, size_t nm)
{
	size_t i, k, c, prev, cur;

	for (i = 0; i < nm; i++) {
		const struct smsg *m = &t->m[i];

		c = m->msgid ? by_id(t, m->msgid) : cont_new(t, 0, i);
		if (t->c[c].msg != NONE && t->c[c].msg != i)
			c = cont_new(t, 0, i);	/* a duplicate Message-ID */
		t->c[c].msg = i;
		for (k = 0, prev = NONE; k < m->nrefs; k++, prev = cur) {
			cur = by_id(t, m->refs[k]);
			if (prev != NONE && t->c[cur].parent == NONE &&
			    cur != prev)
				link_child(t, prev, cur);
		}
		unlink_child(t, c);
		if (prev != NONE && prev != c)
			link_child(t, prev, c);
	}
}

/* Step 4 for one sibling list (head in *pp; root: the root set). */
static void prune_list(struct tree *t, size_t *pp, int root)
{
	size_t c, k, last;

	while (*pp != NONE) {
		c = *pp;
		if (t->c[c].msg == NONE && t->c[c].child == NONE) {
			*pp = t->c[c].next;
			continue;
		}
		if (t->c[c].msg == NONE &&
		    (!root || t->c[t->c[c].child].next == NONE)) {
			/* its children take its place */
			for (k = t->c[c].child, last = NONE; k != NONE;
			     last = k, k = t->c[k].next)
				t->c[k].parent = t->c[c].parent;
			t->c[last].next = t->c[c].next;
			*pp = t->c[c].child;
			continue;
		}
		pp = &t->c[c].next;
	}
}

/* Prune every list, parents before children, with an explicit stack. */
static void prune(struct tree *t, size_t *roots)
{
	size_t *stack = malloc((t->n + 1) * sizeof(*stack)), top = 0, c, k;

	if (stack == NULL)
		log_fatal("out of memory");
	prune_list(t, roots, 1);
	for (k = *roots; k != NONE; k = t->c[k].next)
		stack[top++] = k;
	while (top > 0) {
		c = stack[--top];
		prune_list(t, &t->c[c].child, 0);
		for (k = t->c[c].child; k != NONE; k = t->c[k].next)
			stack[top++] = k;
	}
	free(stack);
}

/* The subject a root container goes by (an empty one: its first
 * child's); NULL for an empty container without a message child. */
static const struct smsg *subject_of(const struct tree *t, size_t r)
{
	if (t->c[r].msg != NONE)
		return &t->m[t->c[r].msg];
	r = t->c[r].child;
	return r != NONE && t->c[r].msg != NONE ? &t->m[t->c[r].msg] : NULL;
}

static uint64_t hash_str(const char *s)
{
	return hash_id(s, strlen(s));
}

/* Step 5: roots of one base subject are gathered. */
static void merge_subjects(struct tree *t, size_t *roots, size_t nroots)
{
	size_t cap = 16, *tab, i, r, x, *pp, d;
	const struct smsg *a, *b;

	while (cap < 2 * nroots)
		cap *= 2;
	tab = malloc(cap * sizeof(*tab));
	if (tab == NULL)
		log_fatal("out of memory");
	for (i = 0; i < cap; i++)
		tab[i] = NONE;
	/* (A) one container per subject: an empty one, or a non-reply */
	for (r = *roots; r != NONE; r = t->c[r].next) {
		if ((a = subject_of(t, r)) == NULL || a->subject[0] == '\0')
			continue;
		for (i = hash_str(a->subject) & (cap - 1); tab[i] != NONE;
		     i = (i + 1) & (cap - 1))
			if (strcmp(subject_of(t, tab[i])->subject,
				   a->subject) == 0)
				break;
		if (tab[i] == NONE)
			tab[i] = r;
		else if ((t->c[r].msg == NONE && t->c[tab[i]].msg != NONE) ||
			 (t->c[tab[i]].msg != NONE &&
			  t->m[t->c[tab[i]].msg].reply &&
			  t->c[r].msg != NONE && !a->reply))
			tab[i] = r;
	}
	/* (B, C) the other roots of that subject join it */
	for (pp = roots; (r = *pp) != NONE;) {
		a = subject_of(t, r);
		if (a == NULL || a->subject[0] == '\0') {
			pp = &t->c[r].next;
			continue;
		}
		for (i = hash_str(a->subject) & (cap - 1);
		     strcmp(subject_of(t, tab[i])->subject, a->subject) != 0;
		     i = (i + 1) & (cap - 1))
			;
		x = tab[i];
		if (x == r) {
			pp = &t->c[r].next;
			continue;
		}
		*pp = t->c[r].next;	/* r leaves the root set */
		t->c[r].next = NONE;
		b = t->c[x].msg != NONE ? &t->m[t->c[x].msg] : NULL;
		if (t->c[x].msg == NONE && t->c[r].msg == NONE) {
			/* (i) both empty: r's children go to x */
			while ((d = t->c[r].child) != NONE) {
				unlink_child(t, d);
				t->c[d].parent = x;
				t->c[d].next = t->c[x].child;
				t->c[x].child = d;
			}
		} else if (t->c[x].msg == NONE ||
			   (b && !b->reply && a->reply)) {
			/* (ii, iii) r under the empty one or the original */
			t->c[r].parent = x;
			t->c[r].next = t->c[x].child;
			t->c[x].child = r;
		} else {
			/* (iv) siblings under a new empty container, in x's
			 * place in the root set */
			d = cont_new(t, 0, NONE);
			t->c[d] = t->c[x];
			t->c[d].msg = t->c[x].msg;
			t->c[d].id = t->c[x].id;
			for (i = t->c[d].child; i != NONE; i = t->c[i].next)
				t->c[i].parent = d;
			/* x becomes the empty one, d the old message */
			t->c[x].msg = NONE;
			t->c[x].id = 0;
			t->c[x].child = d;
			t->c[d].parent = x;
			t->c[d].next = r;
			t->c[r].parent = x;
			t->c[r].next = NONE;
		}
	}
	free(tab);
}

static const struct tree *sort_tree;

static int cmp_cont(const void *x, const void *y)
{
	const struct cont *a = &sort_tree->c[*(const size_t *)x];
	const struct cont *b = &sort_tree->c[*(const size_t *)y];

	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return cmp_num(a->seq, b->seq);
}

/* Sort the list at *pp by sent date (ties: sequence number). */
static void sort_list(struct tree *t, size_t *pp, size_t *tmp)
{
	size_t n = 0, k, i;

	for (k = *pp; k != NONE; k = t->c[k].next)
		tmp[n++] = k;
	if (n < 2)
		return;
	sort_tree = t;
	qsort(tmp, n, sizeof(*tmp), cmp_cont);
	*pp = tmp[0];
	for (i = 0; i + 1 < n; i++)
		t->c[tmp[i]].next = tmp[i + 1];
	t->c[tmp[n - 1]].next = NONE;
}

/* Step 6: children sorted before their parents (an empty container
 * takes its first child's date), then the root set. */
static void sort_all(struct tree *t, size_t *roots)
{
	size_t *order = malloc((t->n + 1) * sizeof(*order));
	size_t *tmp = malloc((t->n + 1) * sizeof(*tmp)), n = 0, i, k, c;

	if (order == NULL || tmp == NULL)
		log_fatal("out of memory");
	for (k = *roots; k != NONE; k = t->c[k].next)
		order[n++] = k;
	for (i = 0; i < n; i++)		/* breadth first: parents first */
		for (k = t->c[order[i]].child; k != NONE; k = t->c[k].next)
			order[n++] = k;
	for (i = n; i-- > 0;) {
		c = order[i];
		sort_list(t, &t->c[c].child, tmp);
		if (t->c[c].msg != NONE) {
			t->c[c].date = t->m[t->c[c].msg].date;
			t->c[c].seq = t->m[t->c[c].msg].seq;
		} else if (t->c[c].child != NONE) {
			t->c[c].date = t->c[t->c[c].child].date;
			t->c[c].seq = t->c[t->c[c].child].seq;
		}
	}
	sort_list(t, roots, tmp);
	free(order);
	free(tmp);
}

/* "(3 6 (4 23)(44 7 96))" for each root (RFC 5256 5, thread-list),
 * from an explicit stack: a container, or "(" / ")" to write. */
#define OPEN ((size_t)-2)
#define CLOSE ((size_t)-3)

static void write_threads(struct imap_sess *s, const struct tree *t,
			  size_t roots)
{
	size_t *st = malloc((3 * t->n + 3) * sizeof(*st)), top = 0, x, k, r;
	size_t kids[1];
	struct sbuf o;
	char last;

	if (st == NULL)
		log_fatal("out of memory");
	sbuf_init(&o, (size_t)-1 / 4);
	sbuf_puts(&o, "* THREAD ");
	for (r = roots; r != NONE; r = t->c[r].next) {
		st[top++] = CLOSE;
		st[top++] = r;
		st[top++] = OPEN;
		while (top > 0) {
			x = st[--top];
			last = o.data[o.len - 1];
			if (x == OPEN) {
				sbuf_puts(&o, last >= '0' && last <= '9' ?
					  " (" : "(");
				continue;
			}
			if (x == CLOSE) {
				sbuf_puts(&o, ")");
				continue;
			}
			if (t->c[x].msg != NONE)
				sbuf_printf(&o, "%s%u", last >= '0' &&
					    last <= '9' ? " " : "",
					    t->m[t->c[x].msg].id);
			k = t->c[x].child;
			if (k != NONE && t->c[k].next == NONE &&
			    t->c[x].msg != NONE) {
				st[top++] = k;	/* one child: a chain */
				continue;
			}
			/* several: each its own list, in order */
			kids[0] = top;
			for (; k != NONE; k = t->c[k].next) {
				st[top++] = CLOSE;
				st[top++] = k;
				st[top++] = OPEN;
			}
			/* reverse the pushed triples so the first pops
			 * first */
			for (k = 0; k < (top - kids[0]) / 6; k++) {
				size_t a = kids[0] + 3 * k, b = top - 3 -
								3 * k, j;

				for (j = 0; j < 3; j++) {
					size_t tmp = st[a + j];

					st[a + j] = st[b + j];
					st[b + j] = tmp;
				}
			}
		}
	}
	sbuf_puts(&o, "\r\n");
	conn_write(s->c, o.data, o.len);
	sbuf_free(&o);
	free(st);
}

/* THREAD=ORDEREDSUBJECT (RFC 5256 3): by base subject, then sent date;
 * each subject's first message the parent of the rest. */
static size_t ordered_subject(struct tree *t, size_t nm)
{
	static const struct crit by[] = {{K_SUBJECT, 0}, {K_DATE, 0}};
	size_t i, c, first = NONE, last = NONE, roots = NONE, *tmp;

	sort_crit = by;
	sort_ncrit = 2;
	qsort(t->m, nm, sizeof(*t->m), cmp_smsg);
	for (i = 0; i < nm; i++) {
		c = cont_new(t, 0, i);
		t->c[c].date = t->m[i].date;
		t->c[c].seq = t->m[i].seq;
		if (first != NONE && strcmp(t->m[t->c[first].msg].subject,
					    t->m[i].subject) == 0) {
			/* children in date order */
			t->c[c].parent = first;
			if (last == first)
				t->c[first].child = c;
			else
				t->c[last].next = c;
			last = c;
			continue;
		}
		t->c[c].next = roots;
		roots = c;
		first = last = c;
	}
	tmp = malloc((t->n + 1) * sizeof(*tmp));
	if (tmp == NULL)
		log_fatal("out of memory");
	sort_list(t, &roots, tmp);
	free(tmp);
	return roots;
}

/* THREAD=REFERENCES (RFC 5256 4). */
static size_t references(struct tree *t, size_t nm)
{
	size_t i, roots = NONE, nroots = 0;

	t->tcap = 64;
	while (t->tcap < 2 * nm * (LIM_IMAP_THREAD_REFS + 1))
		t->tcap *= 2;
	t->table = malloc(t->tcap * sizeof(*t->table));
	if (t->table == NULL)
		log_fatal("out of memory");
	for (i = 0; i < t->tcap; i++)
		t->table[i] = NONE;
	link_all(t, nm);
	/* (2) the root set, (3) the table is done with */
	for (i = t->n; i-- > 0;)
		if (t->c[i].parent == NONE) {
			t->c[i].next = roots;
			roots = i;
			nroots++;
		}
	free(t->table);
	t->table = NULL;
	prune(t, &roots);
	merge_subjects(t, &roots, nroots);
	sort_all(t, &roots);
	return roots;
}

void imap_cmd_thread(struct imap_sess *s, struct imap_cmd *cmd)
{
	const char *alg = imap_arg_str(cmd, 0), *cs = imap_arg_str(cmd, 1);
	struct tree t;
	size_t nm, roots;
	int refs;

	if (cmd->nargs < 3 || alg == NULL || cs == NULL ||
	    cmd->args[0].type != IMAP_ARG_ATOM) {
		imap_bad(s, cmd->tag, "Syntax: THREAD algorithm charset keys");
		return;
	}
	refs = strcasecmp(alg, "REFERENCES") == 0;
	if (!refs && strcasecmp(alg, "ORDEREDSUBJECT") != 0) {
		imap_bad(s, cmd->tag, "Unknown THREAD algorithm");
		return;
	}
	if (imap_search_charset(s, cmd, cs) < 0)
		return;
	memset(&t, 0, sizeof(t));
	t.m = gather(s, cmd, 2, 1, 1, &nm);
	if (t.m == NULL)
		return;
	roots = refs ? references(&t, nm) : ordered_subject(&t, nm);
	if (nm > 0)
		write_threads(s, &t, roots);
	else
		imap_untagged(s, "THREAD");
	free(t.c);
	smsgs_free(t.m, nm);
	imap_ok(s, cmd->tag, "%sTHREAD completed", cmd->uid ? "UID " : "");
}
