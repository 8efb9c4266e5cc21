#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "io/listen.h"
#include "io/peer.h"
#include "rpc/control.h"
#include "rpc/rpc-int.h"
#include "rpc/views.h"

/* A request came on c, or a notification of a method that also answers
 * requests (call->method set): count it in flight until it is answered
 * (rpc_reply_*, which for such a notification only logs an error); false
 * when that is over a bound (it is then answered at once: a notification
 * is dropped and the limit logged). */
static bool admit(struct control *ctl, struct conn *c, const struct rpc_call *call)
{
	c->in_flight++;
	ctl->in_flight++;
	if (c->in_flight <= CONTROL_MAX_IN_FLIGHT && ctl->in_flight <= CONTROL_MAX_IN_FLIGHT_ALL)
		return true;
	rpc_reply_error(call, PROTO_ELIMIT,
	    c->in_flight > CONTROL_MAX_IN_FLIGHT
		? "too many requests in flight on this connection (limit " NUM_STR(
		      CONTROL_MAX_IN_FLIGHT) "): wait for replies"
		: "too many requests in flight on the daemon (limit " NUM_STR(
		      CONTROL_MAX_IN_FLIGHT_ALL) "): try again later");
	return false;
}

/* A peer's bytes for the log: printable ASCII as it is, any other byte as
 * \xNN, cut with "..." where buf is full. */
static const char *printable(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 5 <= size; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'')
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", ch);
	}
	if (i < len)
		memcpy(buf + size - 4, "...", 4);
	else
		buf[n] = '\0';
	return buf;
}

/* Room for a method name (at most PROTO_MAX_METHOD bytes) all escaped. */
#define METHOD_LABEL_SIZE (4 * PROTO_MAX_METHOD + 1)

/* Neovim's API methods: a client that asks for one took the daemon for a
 * Neovim (pynvim.attach() does; its session layer works). */
#define NVIM_API_PREFIX "nvim_"
#define NVIM_HINT \
	": this is ocstopd, not Neovim (pynvim: use its session layer, ocstop-protocol(7))"

static void on_request(struct peer *p, uint32_t msgid, const char *method, size_t method_len,
    const msgpack_object *params, void *arg)
{
	struct conn *c = arg;
	struct rpc_call call = { c->ctl, c->id, msgid, false, NULL };
	const struct method_entry *m = method_find(method, method_len);
	const msgpack_object *opts;
	const char *msg = NULL;
	char label[METHOD_LABEL_SIZE], why[METHOD_LABEL_SIZE + sizeof(NVIM_HINT) + 32];
	bool nvim;
	int code;

	(void)p;
	if (!admit(c->ctl, c, &call))
		return;
	if (m == NULL || (m->how & METHOD_REQUEST) == 0) {
		printable(label, sizeof(label), method, method_len);
		log_debug("client %llu: unknown method '%s'", (unsigned long long)c->id, label);
		/* pynvim.attach() asks for Neovim's API first: say whom it
		 * reached. */
		nvim = method_len >= strlen(NVIM_API_PREFIX) &&
		    memcmp(method, NVIM_API_PREFIX, strlen(NVIM_API_PREFIX)) == 0;
		if (m != NULL)
			snprintf(why, sizeof(why), "this method is a notification");
		else
			snprintf(why, sizeof(why), "unknown method '%s'%s", label,
			    nvim ? NVIM_HINT : "");
		rpc_reply_error(&call, PROTO_EMETHOD, why);
		return;
	}
	opts = proto_params_map(params, &msg);
	if (opts == NULL && msg != NULL) {
		rpc_reply_error(&call, PROTO_EBADREQ, msg);
		return;
	}
	if ((code = m->exec(&call, opts, &msg)) != 0)
		rpc_reply_error(&call, code, msg);
}

/* What a subscribed Neovim says of an event it could not run (its function
 * or Lua code failed, or it is gone): [kind, message]. Logged, as the
 * connection's ignored notifications are, so that the user finds why a
 * status line stays still; the subscription goes on. */
static void on_nvim_error(struct conn *c, const msgpack_object *params)
{
	const msgpack_object *a = params->via.array.ptr;
	char text[CONTROL_NVIM_ERROR_LOGGED + 1];

	if (!conns_unheard(c))
		return;
	if (params->via.array.size != 2 || a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a[1].type != MSGPACK_OBJECT_STR) {
		log_info("client %llu: a malformed nvim_error_event (%llu so far)",
		    (unsigned long long)c->id, (unsigned long long)c->unheard);
		return;
	}
	log_info("client %llu: Neovim could not run an event: %s (%llu so far)",
	    (unsigned long long)c->id,
	    printable(text, sizeof(text), a[1].via.str.ptr, a[1].via.str.size),
	    (unsigned long long)c->unheard);
}

static void on_notify(struct peer *p, const char *method, size_t method_len,
    const msgpack_object *params, void *arg)
{
	struct conn *c = arg;
	struct rpc_call call = { c->ctl, c->id, 0, true, NULL };
	const struct method_entry *m = method_find(method, method_len);
	const msgpack_object *opts;
	const char *msg = NULL;
	char label[METHOD_LABEL_SIZE];
	int code;

	(void)p;
	if (method_len == strlen(PROTO_N_NVIM_ERROR_EVENT) &&
	    memcmp(method, PROTO_N_NVIM_ERROR_EVENT, method_len) == 0) {
		on_nvim_error(c, params);
		return;
	}
	/* Nobody hears of a notification that did nothing but from the log:
	 * a client that meant a request (rpcnotify for rpcrequest) finds it. */
	if (m == NULL || (m->how & METHOD_NOTIFY) == 0) {
		if (conns_unheard(c))
			log_info("client %llu: notification '%s' ignored: %s (%llu so far)",
			    (unsigned long long)c->id,
			    printable(label, sizeof(label), method, method_len),
			    m == NULL ? "no such method" : "it only answers requests",
			    (unsigned long long)c->unheard);
		return;
	}
	/* Such a notification holds what its request would (an abort's
	 * lookups): it is in flight alike. */
	if ((m->how & METHOD_REQUEST) != 0) {
		call.method = m->name;
		if (!admit(c->ctl, c, &call))
			return;
	}
	opts = proto_params_map(params, &msg);
	code = opts == NULL && msg != NULL ? PROTO_EBADREQ : m->exec(&call, opts, &msg);
	if (code == 0)
		return;
	if (call.method != NULL)
		rpc_reply_error(&call, code, msg);
	else
		log_debug("client %llu: notification %s refused: %s", (unsigned long long)c->id,
		    m->name, msg != NULL ? msg : proto_errcode_name(code));
}

static void on_invalid(struct peer *p, bool has_msgid, uint32_t msgid, const char *why, void *arg)
{
	struct conn *c = arg;
	struct rpc_call call = { c->ctl, c->id, msgid, false, NULL };

	(void)p;
	log_debug("client %llu: invalid message: %s", (unsigned long long)c->id, why);
	if (has_msgid && admit(c->ctl, c, &call))
		rpc_reply_error(&call, PROTO_EBADREQ, why);
}

static void on_closed(struct peer *p, const char *why, void *arg)
{
	struct conn *c = arg;
	struct control *ctl = c->ctl;

	(void)p;
	log_debug("client %llu: closed: %s", (unsigned long long)c->id, why);
	conns_forget(ctl, c);
	/* A shim's OpenCode process is gone with its connection. */
	engine_shim_gone(ctl->e, c->id, clock_now_ms());
	free(c);
}

static const struct peer_handlers conn_handlers = {
	.request = on_request,
	.notify = on_notify,
	.invalid = on_invalid,
	.closed = on_closed,
};

static void accept_cb(int fd, uid_t uid, pid_t pid, void *arg)
{
	struct control *ctl = arg;
	struct conn *c;
	char label[64];

	(void)uid;
	if (ctl->n_conns >= ctl->max_conns) {
		if (is_power_of_ten(++ctl->refused))
			log_warnx("refused a connection from pid %d: %zu are open (limit); %llu "
				  "refused so far",
			    (int)pid, ctl->max_conns, (unsigned long long)ctl->refused);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) != NULL)
		c->id = ++ctl->next_id; /* never reused: a late reply finds nobody */
	if (c == NULL || conns_add(ctl, c) < 0) {
		log_warnx("could not take a connection from pid %d: out of memory", (int)pid);
		free(c);
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->pid = pid;
	snprintf(label, sizeof(label), "client %llu (pid %d)", (unsigned long long)c->id, (int)pid);
	if ((c->peer = peer_new(ctl->base, fd, label, &conn_handlers, c)) == NULL) {
		log_warnx("could not take a connection from pid %d: out of memory", (int)pid);
		conns_forget(ctl, c);
		free(c);
		return;
	}
	ctl->counters.clients++;
	log_debug("client %llu: connected, pid %d", (unsigned long long)c->id, (int)pid);
}

/* CONTROL_MAX_CONNS, or fewer when the descriptor limit leaves less. */
static size_t max_conns(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= CONTROL_MAX_CONNS + CONTROL_FD_RESERVE)
		return CONTROL_MAX_CONNS;
	return rl.rlim_cur > 2 * CONTROL_FD_RESERVE ? rl.rlim_cur - CONTROL_FD_RESERVE
						    : rl.rlim_cur / 2;
}

struct control *control_new(struct event_base *base, struct engine *e)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (ctl == NULL)
		return NULL;
	ctl->base = base;
	ctl->e = e;
	ctl->max_conns = max_conns();
	if (conns_init(ctl) < 0) {
		control_free(ctl);
		return NULL;
	}
	fence_sink_init(ctl);
	return ctl;
}

int control_listen(struct control *ctl, const char *path, char **cause)
{
	ctl->listener = listen_start(ctl->base, path, accept_cb, ctl, cause);
	if (ctl->listener == NULL)
		return -1;
	ctl->activated = listen_activated(ctl->listener);
	return 0;
}

bool control_activated(const struct control *ctl)
{
	return ctl->activated;
}

size_t control_connections(const struct control *ctl)
{
	return ctl->n_conns;
}

uint64_t control_accepted(const struct control *ctl)
{
	return ctl->next_id;
}

void control_stop_listening(struct control *ctl)
{
	listen_stop(ctl->listener);
	ctl->listener = NULL;
}

size_t control_output_bytes(const struct control *ctl)
{
	const struct conn *c, *tmp;
	size_t n = 0;

	HASH_ITER(hh, ctl->by_id, c, tmp)
		n += peer_output_bytes(c->peer);
	return n;
}

void control_settings_changed(struct control *ctl)
{
	const struct config *config = engine_config(ctl->e);
	const struct conn *c, *tmp;
	msgpack_packer *pk;

	HASH_ITER(hh, ctl->by_id, c, tmp) {
		if (c->registered == 0 ||
		    (pk = rpc_notify_begin(ctl, c->id, PROTO_M_SETTINGS)) == NULL)
			continue;
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, VIEW_SETTINGS_FIELDS);
		view_pack_settings(pk, config);
		rpc_notify_end(ctl, c->id);
	}
}

bool control_is_opencode_pid(const struct control *ctl, int pid)
{
	const struct conn *c, *tmp;

	HASH_ITER(hh, ctl->by_id, c, tmp)
		if (c->registered > 0 && (c->pid == pid || c->opencode_pid == pid))
			return true;
	return false;
}

void control_free(struct control *ctl)
{
	struct conn *c, *tmp;

	if (ctl == NULL)
		return;
	listen_stop(ctl->listener);
	/* No loop runs any more: close now. The peers outlive this only as
	 * references others hold (a relay backend until its server goes). */
	HASH_ITER(hh, ctl->by_id, c, tmp) {
		conns_forget(ctl, c);
		engine_shim_gone(ctl->e, c->id, clock_now_ms());
		peer_close_now(c->peer);
		free(c);
	}
	fence_sink_fini(ctl);
	conns_fini(ctl);
	free(ctl);
}
