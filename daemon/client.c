#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "client.h"
#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "rpc.h"
#include "server.h"

#define CLIENT_READ_CHUNK 65536
#define CLIENT_MAX_TYPES 32

/* A request the daemon sent this peer and awaits an answer to. */
struct pending {
	uint32_t msgid;
	client_reply_cb cb;
	void *arg;
	struct event *timer;
	struct client *c;
	struct pending *next;
};

struct client {
	struct daemon *d;
	uint64_t id;
	uid_t uid;
	pid_t pid;
	struct bufferevent *bev;
	struct proto_reader *reader;
	msgpack_packer pk;
	bool subscribed;
	char *types[CLIENT_MAX_TYPES];
	size_t n_types;
	struct pending *pending;
	size_t n_pending;
	uint32_t next_msgid;
	int in_callback; /* >0 while we run code on its behalf: free later */
	bool dead;
	struct client *next;
};

struct client_list {
	struct client *head;
	size_t count;
	uint64_t next_id;
};

struct client_list *client_list_new(void)
{
	return calloc(1, sizeof(struct client_list));
}

struct client *client_find(struct daemon *d, uint64_t id)
{
	struct client *c;

	for (c = d->clients->head; c != NULL; c = c->next)
		if (c->id == id && !c->dead)
			return c;
	return NULL;
}

struct client *client_first(struct daemon *d)
{
	return d->clients->head;
}

struct client *client_next(struct client *c)
{
	return c->next;
}

uint64_t client_id(const struct client *c)
{
	return c->id;
}

size_t client_count(struct daemon *d)
{
	return d->clients->count;
}

static void pending_finish(struct pending *p, const msgpack_object *error,
    const msgpack_object *result, const char *reason)
{
	struct client *c = p->c;
	struct pending **pp;

	for (pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			c->n_pending--;
			break;
		}
	}
	event_free(p->timer);
	p->cb(c->d, error, result, reason, p->arg);
	free(p);
}

static void client_free(struct client *c)
{
	struct client **pp;
	size_t i;

	for (pp = &c->d->clients->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->d->clients->count--;
			break;
		}
	}
	for (i = 0; i < c->n_types; i++)
		free(c->types[i]);
	proto_reader_free(c->reader);
	free(c);
}

/* Drop the connection. Callbacks still on the stack see c->dead and stop;
 * the memory goes when the outermost of them returns. */
static void client_close(struct client *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	log_debug("client %llu: closed: %s", (unsigned long long)c->id, why);
	c->in_callback++;
	while (c->pending != NULL)
		pending_finish(c->pending, NULL, NULL, "the shim disconnected");
	server_shim_gone(c->d, c->id);
	c->in_callback--;
	bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->in_callback == 0)
		client_free(c);
}

static void client_release(struct client *c)
{
	if (--c->in_callback == 0 && c->dead)
		client_free(c);
}

static int pack_write(void *data, const char *buf, size_t len)
{
	struct client *c = data;

	if (c->dead)
		return 0;
	return evbuffer_add(bufferevent_get_output(c->bev), buf, len);
}

msgpack_packer *client_packer(struct client *c)
{
	return &c->pk;
}

void client_sent(struct client *c)
{
	if (c->dead)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > CLIENT_MAX_OUTPUT) {
		log_warnx("client %llu (pid %d): dropped: it does not read its replies",
		    (unsigned long long)c->id, (int)c->pid);
		client_close(c, "output over bound");
	}
}

static void handle_response(struct client *c, const struct proto_msg *m)
{
	struct pending *p;

	for (p = c->pending; p != NULL; p = p->next) {
		if (p->msgid == m->msgid) {
			pending_finish(p, m->error->type == MSGPACK_OBJECT_NIL ? NULL : m->error,
			    m->result, NULL);
			return;
		}
	}
	log_debug("client %llu: response to unknown msgid %u", (unsigned long long)c->id, m->msgid);
}

static void handle_message(struct client *c, int rc, const struct proto_msg *m)
{
	if (rc == PROTO_INVALID) {
		log_debug("client %llu: invalid message: %s", (unsigned long long)c->id,
		    proto_reader_error(c->reader));
		if (m->has_msgid && m->kind == PROTO_REQUEST) {
			struct rpc_call call = { c->d, c->id, m->msgid };
			rpc_reply_error(&call, PROTO_EBADREQ, proto_reader_error(c->reader));
		}
		return;
	}
	switch (m->kind) {
	case PROTO_REQUEST:
		rpc_dispatch(c->d, c, m->msgid, m->method, m->method_len, m->params);
		break;
	case PROTO_NOTIFY:
		rpc_notify(c->d, c, m->method, m->method_len, m->params);
		break;
	case PROTO_RESPONSE:
		handle_response(c, m);
		break;
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char buf[CLIENT_READ_CHUNK];
	struct proto_msg m;
	int n, rc;

	c->in_callback++;
	while (!c->dead && (n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		if (proto_reader_feed(c->reader, buf, (size_t)n) != PROTO_OK) {
			log_warnx("client %llu (pid %d): %s; closing", (unsigned long long)c->id,
			    (int)c->pid, proto_reader_error(c->reader));
			client_close(c, "protocol error");
			break;
		}
		while (!c->dead && (rc = proto_reader_next(c->reader, &m)) != PROTO_AGAIN) {
			if (rc == PROTO_ERR) {
				log_warnx("client %llu (pid %d): %s; closing", (unsigned long long)c->id,
				    (int)c->pid, proto_reader_error(c->reader));
				client_close(c, "protocol error");
				break;
			}
			handle_message(c, rc, &m);
		}
	}
	client_release(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	(void)bev;
	c->in_callback++;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_close(c, (what & BEV_EVENT_EOF) ? "end of stream" : "socket error");
	client_release(c);
}

int client_accept(struct daemon *d, int fd, uid_t uid, pid_t pid)
{
	struct client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		goto fail;
	c->reader = proto_reader_new(PROTO_MAX_FRAME);
	c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->reader == NULL || c->bev == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		proto_reader_free(c->reader);
		free(c);
		return -1;
	}
	c->d = d;
	c->id = ++d->clients->next_id;
	c->uid = uid;
	c->pid = pid;
	msgpack_packer_init(&c->pk, c, pack_write);
	bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = d->clients->head;
	d->clients->head = c;
	d->clients->count++;
	d->counters.clients++;
	log_debug("client %llu: connected, pid %d", (unsigned long long)c->id, (int)pid);
	return 0;
fail:
	evutil_closesocket(fd);
	return -1;
}

void client_list_free(struct daemon *d)
{
	if (d->clients == NULL)
		return;
	while (d->clients->head != NULL) {
		struct client *c = d->clients->head;

		client_close(c, "shutdown");
		if (d->clients->head == c)
			client_free(c);
	}
	free(d->clients);
	d->clients = NULL;
}

int client_subscribe(struct client *c, char **types, size_t n)
{
	size_t i;

	if (n > CLIENT_MAX_TYPES)
		return -1;
	for (i = 0; i < c->n_types; i++)
		free(c->types[i]);
	for (i = 0; i < n; i++)
		c->types[i] = types[i];
	c->n_types = n;
	c->subscribed = true;
	return 0;
}

bool client_wants(const struct client *c, const char *type)
{
	size_t i;

	if (!c->subscribed || c->dead)
		return false;
	if (c->n_types == 0)
		return true;
	for (i = 0; i < c->n_types; i++)
		if (strcmp(c->types[i], type) == 0)
			return true;
	return false;
}

static void pending_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct client *c = p->c;

	(void)fd;
	(void)what;
	c->in_callback++;
	pending_finish(p, NULL, NULL, "the shim did not answer in time");
	client_release(c);
}

int client_request(struct client *c, const char *method, client_pack_cb pack, const void *pack_arg,
    int timeout_ms, client_reply_cb cb, void *arg)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct pending *p;

	if (c->dead || c->n_pending >= CLIENT_MAX_PENDING)
		return -1;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	p->timer = evtimer_new(c->d->base, pending_timeout_cb, p);
	if (p->timer == NULL) {
		free(p);
		return -1;
	}
	p->msgid = ++c->next_msgid;
	p->cb = cb;
	p->arg = arg;
	p->c = c;
	proto_pack_request_header(&c->pk, p->msgid, method);
	pack(&c->pk, pack_arg);
	evtimer_add(p->timer, &tv);
	p->next = c->pending;
	c->pending = p;
	c->n_pending++;
	client_sent(c);
	return 0;
}

size_t client_output_bytes(struct daemon *d)
{
	struct client *c;
	size_t n = 0;

	for (c = d->clients->head; c != NULL; c = c->next)
		if (!c->dead)
			n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}
