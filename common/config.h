/*
 * NAME
 *	config - "key = value" configuration files with a typed table
 * DESCRIPTION
 *	Each daemon declares its parameters once in a table (name, type,
 *	default, variable, min, max, help). config_load() applies the defaults,
 *	then the file. Blank lines and lines starting with '#' are ignored;
 *	"key = value" with optional white space around '='; values are taken
 *	verbatim to the end of the line with trailing white space removed.
 *	A renamed key keeps its former name for one release
 *	(config_old_name()): the file may use it, with a warning. An
 *	unknown key, a repeated key, a malformed line or a bad value is an
 *	error naming file, line and key. Base layer.
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum cfg_type {
	CFG_STR,  /* char ** (malloc'ed; "" allowed) */
	CFG_INT,  /* long long *, decimal, min..max */
	CFG_BOOL, /* int *, yes/no/true/false/on/off/1/0 */
	CFG_TIME, /* long long * seconds; suffix s, m, h, d, w (none = s) */
	CFG_SIZE, /* long long * bytes; suffix k, m, g (binary; none = bytes) */
	CFG_CHOICE, /* int *: index of the value among the choices that def
		     * lists as "first|second|..."; the first is the default */
};

struct cfg_param {
	const char *name;
	enum cfg_type type;
	const char *def;  /* default, in the same syntax as the file */
	void *var;
	long long min;	  /* for INT, TIME, SIZE */
	long long max;
	const char *help; /* one line for -p output and docs */
};

/* Apply defaults, then read path (NULL: defaults only). The table ends
 * with an entry whose name is NULL. Returns 0, or -1 with a message like
 * "etc/mx.conf:12: unknown key 'foo'" in err. */
int config_load(const struct cfg_param *table, const char *path, char *err,
		size_t errlen);

/* SIGHUP: read path again with table's defaults. On an error every
 * value stays as it was and -1 comes back with err. Else the keys named
 * in live (NULL-terminated: what the daemon can put to work while it
 * runs) take their new values; every other key keeps its old value, and
 * each one that the file changed is named in note ("a, b") as needing a
 * restart. A string that changed gets a new pointer, the old one is kept
 * alive (others may hold it); one that did not keeps its pointer.
 * Returns 0. */
int config_reload(const struct cfg_param *table, const char *path,
		  const char *const *live, char *note, size_t notelen,
		  char *err, size_t errlen);

/* Accept old_name in the file as the key name (renamed), with a
 * deprecation warning naming file and line, for one release. For the
 * process's tables (call before config_load()); at most
 * CONFIG_OLD_NAMES renames; the strings must stay alive. */
#define CONFIG_OLD_NAMES 8
void config_old_name(const char *old_name, const char *name);

/* Parse one value of the given type into var; used by config_load() and
 * tests. Returns 0, or -1 with a reason in err. */
int config_parse_value(const struct cfg_param *p, const char *value,
		       char *err, size_t errlen);

/* The line of path that sets key, or 0 when the file does not (the
 * default applies) or cannot be read. For errors found after loading:
 * "file:line: key ...". */
int config_key_line(const char *path, const char *key);

/* Print "name = value" for every parameter, marking non-defaults. */
void config_print(const struct cfg_param *table, FILE *out);

/* Split a comma/space separated list into a NULL-terminated array of
 * malloc'ed strings (free with config_list_free). Returns NULL on ENOMEM;
 * an empty string gives an empty array. */
char **config_list(const char *value);
void config_list_free(char **list);

#endif
