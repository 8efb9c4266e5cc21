#include <stdlib.h>
#include <string.h>

#include "core/proc.h"

/* Ends a command that was cut. */
#define CUT_MARK "..."

int proc_environ_session(const char *env, size_t len, const char *const *ids, size_t n_ids,
    bool *marked)
{
	static const char key[] = PROC_MARKER "=";
	const char *p = env, *end = env + len, *nul, *value;
	size_t vlen, i;

	*marked = false;
	while (p < end) {
		nul = memchr(p, '\0', (size_t)(end - p));
		/* A string the bounded read cut is not trusted. */
		if (nul == NULL) {
			*marked = true;
			return -1;
		}
		if ((size_t)(nul - p) >= sizeof(key) - 1 && memcmp(p, key, sizeof(key) - 1) == 0) {
			*marked = true;
			value = p + sizeof(key) - 1;
			vlen = (size_t)(nul - value);
			for (i = 0; i < n_ids; i++)
				if (strlen(ids[i]) == vlen && memcmp(ids[i], value, vlen) == 0)
					return (int)i;
			/* A shell sets each variable once: a later string
			 * of the same name is not in the environment. */
			return -1;
		}
		p = nul + 1;
	}
	return -1;
}

void proc_render_command(const char *cmdline, size_t len, char *out)
{
	size_t i, o = 0, room = PROTO_MAX_COMMAND - 1;
	unsigned char c;

	/* The arguments end in a NUL each: no trailing space for the last. */
	while (len > 0 && cmdline[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++) {
		if (o == room) {
			memcpy(out + room - (sizeof(CUT_MARK) - 1), CUT_MARK, sizeof(CUT_MARK) - 1);
			break;
		}
		c = (unsigned char)cmdline[i];
		out[o++] = c == '\0' ? ' ' : c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o] = '\0';
}

bool proc_status_uid_is(const char *status, size_t len, unsigned long uid)
{
	static const char key[] = "\nUid:";
	char line[128], *p, *end;
	const char *at, *nl;
	unsigned long v;
	size_t n;
	int i;

	at = memmem(status, len, key, sizeof(key) - 1);
	if (at == NULL)
		return false;
	at += sizeof(key) - 1;
	nl = memchr(at, '\n', len - (size_t)(at - status));
	/* A line the bounded read cut is not trusted. */
	if (nl == NULL || (n = (size_t)(nl - at)) >= sizeof(line))
		return false;
	memcpy(line, at, n);
	line[n] = '\0';
	p = line;
	for (i = 0; i < 4; i++) {
		v = strtoul(p, &end, 10);
		if (end == p || v != uid)
			return false;
		p = end;
	}
	return true;
}

bool proc_parse_stat(const char *stat, size_t len, char *state, uint64_t *starttime)
{
	const char *p = NULL, *end = stat + len;
	char buf[512], *q, *next;
	unsigned long long v;
	size_t i, n;
	int field;

	/* The command in parentheses may hold anything, ')' included: the
	 * fields start after the last one. */
	for (i = len; i > 0; i--) {
		if (stat[i - 1] == ')') {
			p = stat + i;
			break;
		}
	}
	if (p == NULL || end - p < 3 || p[0] != ' ')
		return false;
	n = (size_t)(end - p) - 1;
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, p + 1, n);
	buf[n] = '\0';
	*state = buf[0];
	/* Fields 3 (the state) onwards; the start time is field 22. */
	q = buf;
	for (field = 3; field < 22; field++) {
		q = strchr(q, ' ');
		if (q == NULL)
			return false;
		q++;
	}
	v = strtoull(q, &next, 10);
	if (next == q || (*next != ' ' && *next != '\0' && *next != '\n'))
		return false;
	*starttime = (uint64_t)v;
	return true;
}
