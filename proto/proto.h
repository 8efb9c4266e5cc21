/*
 * ocstop wire protocol: msgpack-rpc framing as Neovim specifies it.
 *
 *   request       [0, msgid, method, params]
 *   response      [1, msgid, error, result]
 *   notification  [2, method, params]
 *
 * params is an array holding at most one map of options; results are maps;
 * errors are [kind, "name: message"] (proto_pack_error). This module does no I/O: bytes go in through
 * proto_reader_feed() and messages are packed into a caller's msgpack_packer.
 */
#ifndef OCSTOP_PROTO_H
#define OCSTOP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <msgpack.h>

/* Bumped for every change a peer can see (PROTOCOL.md says what each
 * version changed), so a client can tell what its daemon offers. */
#define PROTO_VERSION 6

/* How long an abort may take to answer (PROTOCOL.md, abort), which a
 * client waits for: two attempts of timeout_ms each, the status check
 * before "not stopped", and ending what the tree's tools left (TERM, the
 * grace, KILL, the wait for it to go); forced, one more attempt and one
 * more ending. The daemon's stop engine keeps to it (stop_longest_ms). */
#define PROTO_STOP_ATTEMPTS 2
#define PROTO_STOP_CHECK_MS 2000
#define PROTO_STOP_ENDING_MS 2000
static inline int64_t proto_stop_longest_ms(int64_t timeout_ms, bool force)
{
	return PROTO_STOP_ATTEMPTS * timeout_ms + PROTO_STOP_CHECK_MS + PROTO_STOP_ENDING_MS +
	    (force ? timeout_ms + PROTO_STOP_ENDING_MS : 0);
}

/* Where the daemon listens, by one rule for every side (the OpenCode plugin
 * shim mirrors it; a test compares the two): $OCSTOP_SOCKET, which must be
 * absolute; else $XDG_RUNTIME_DIR/ocstop/ocstop.sock when XDG_RUNTIME_DIR is
 * absolute (a relative one is ignored, as the XDG spec says); else
 * /tmp/ocstop-$UID/ocstop.sock. */
#define PROTO_ENV_SOCKET "OCSTOP_SOCKET"
#define PROTO_SOCKET_NAME "ocstop.sock"
#define PROTO_SOCKET_SUBPATH "ocstop/" PROTO_SOCKET_NAME
/* Longest path a Unix socket address holds (sun_path less its NUL). */
#define PROTO_MAX_SOCKET_PATH 107

/* Fill buf with the socket path. -1 with *why (static) when OCSTOP_SOCKET is
 * relative or the path does not fit in size or in a socket address. */
int proto_socket_path(char *buf, size_t size, const char **why);

/* Which part of that rule names the socket now, for people asking why
 * (ocstop doctor). */
enum proto_socket_rule {
	PROTO_SOCKET_FROM_ENV, /* $OCSTOP_SOCKET */
	PROTO_SOCKET_FROM_XDG, /* $XDG_RUNTIME_DIR */
	PROTO_SOCKET_FROM_TMP, /* neither: the /tmp fallback */
};
enum proto_socket_rule proto_socket_rule(void);
/* The rule in words: "$OCSTOP_SOCKET", ... (static). */
const char *proto_socket_rule_name(enum proto_socket_rule r);

/* Whom the socket is trusted from, on every side, as ssh and tmux do: its
 * directory must be a directory (not a link) owned by the user and closed to
 * everyone else, so that nobody else can have bound or replaced the socket.
 * The daemon makes the directory with PROTO_SOCKET_DIR_MODE and refuses to
 * listen in any other; clients refuse to connect through any other (and the
 * CLI checks the daemon's uid too). */
#define PROTO_SOCKET_DIR_MODE 0700

/* The directory part of a socket path into buf: "/" for "/x", "." for a
 * bare name. -1 when it does not fit in size. */
int proto_socket_dir(const char *path, char *buf, size_t size);

/* NULL when a directory with lstat()'s mode and owner passes the rule for
 * the user me, else why not (static, to follow the directory's name). */
const char *proto_socket_dir_refusal(mode_t mode, uid_t owner, uid_t me);

/* OpenCode session ids as OpenCode makes them ("ses_" and base62): they go
 * into URL paths, so nothing else is accepted. */
#define PROTO_MAX_SESSION_ID 128
bool proto_session_id_valid(const char *id, size_t len);

/* The user name OpenCode's HTTP Basic auth takes when none is configured. */
#define PROTO_OPENCODE_USERNAME "opencode"
/* Longest OpenCode server password, in bytes, wherever one is given:
 * register's password, the password file (its line end not counted). */
#define PROTO_MAX_PASSWORD 1024

/* Hard limits on what a peer may send. A frame over PROTO_MAX_FRAME is fatal
 * for the connection; the others make a frame invalid. */
#define PROTO_MAX_FRAME (1u << 20)
#define PROTO_MAX_DEPTH 32
#define PROTO_MAX_METHOD 64

/* Method names: a contract with clients; later releases only add to it. */
#define PROTO_M_PING "ping"
#define PROTO_M_STATUS "status"
#define PROTO_M_ABORT "abort"
#define PROTO_M_SUBSCRIBE "subscribe"
#define PROTO_M_MESSAGE "message"
#define PROTO_M_CHECK "check"
#define PROTO_M_REGISTER "register"
#define PROTO_M_X_DONE "x.done"       /* shim -> daemon notification */
#define PROTO_M_X_RESULT "x.result"   /* daemon -> shim notification */
#define PROTO_M_FENCE "fence"         /* daemon -> shim notification */
#define PROTO_M_FENCE_HIT "fence.hit" /* shim -> daemon notification */
#define PROTO_M_SETTINGS "settings"   /* daemon -> shim notification */
/* Daemon to subscribers. */
#define PROTO_N_EVENT "event"
/* Daemon to a Neovim that subscribed with the nvim option: Neovim's own
 * API methods, which it runs with the event as the argument. */
#define PROTO_N_NVIM_CALL_FUNCTION "nvim_call_function"
#define PROTO_N_NVIM_EXEC_LUA "nvim_exec_lua"
/* Neovim to the daemon: [kind, message], an event it could not run. */
#define PROTO_N_NVIM_ERROR_EVENT "nvim_error_event"
/* Bounds of subscribe's nvim option: a function's name, [A-Za-z_] then
 * [A-Za-z0-9_#.:] (a Vim script function, autoload or dict), and Lua code,
 * well-formed UTF-8; in bytes. */
#define PROTO_MAX_NVIM_FUNCTION 64
#define PROTO_MAX_NVIM_LUA 4096
/* subscribe's nvim option in opts: 0 with *method a PROTO_N_NVIM_* and
 * *arg the function's name or the code (borrowed from opts), or *method NULL
 * when it is absent or nil; PROTO_EBADREQ with *msg (static) when it is
 * anything but {function: NAME} or {lua: CODE} within the bounds above. */
int proto_nvim_option(const msgpack_object *opts, const char **method, const char **arg,
    size_t *len, const char **msg);
/* Relay: shim to daemon (notification) and daemon to shim (requests). */
#define PROTO_N_OPENCODE_EVENT "opencode.event"
#define PROTO_M_OPENCODE_ABORT "opencode.abort"
#define PROTO_M_OPENCODE_SESSIONS "opencode.sessions"

/* The errors a response carries, each by its stable name (proto_errcode_name)
 * on the wire: [kind, "name: message"]. The numbers are this program's own;
 * protocols before 6 sent them as [code, message]. */
enum proto_errcode {
	PROTO_EBADREQ = 1,      /* malformed message or bad params */
	PROTO_EMETHOD = 2,      /* unknown method */
	PROTO_ENOTFOUND = 3,    /* no such session or server */
	PROTO_EUNREACHABLE = 4, /* OpenCode could not be reached */
	PROTO_ETIMEOUT = 5,     /* the operation did not finish in time */
	PROTO_EINTERNAL = 6,    /* out of memory or a broken invariant */
	PROTO_ELIMIT = 7,       /* a bound of the daemon's (PROTOCOL.md, Limits) was hit */
};

/* Stable lowercase name of an error code ("bad_request", ...). */
const char *proto_errcode_name(int code);
/* The code of a name; 0 when it is none of them. */
int proto_errcode_from_name(const char *name, size_t len);

/* An error's kind, Neovim's convention, which every msgpack-rpc client
 * shows the message of: a request the client got wrong, or a failure. */
#define PROTO_ERRKIND_EXCEPTION 0
#define PROTO_ERRKIND_VALIDATION 1
int proto_errcode_kind(int code);

/* The code of a response's error, in either form: [kind, "name: message"],
 * with *text the message after "name: ", or an older peer's [code,
 * message], with *text the message (borrowed from error; never NULL, even
 * when empty). 0 when it names
 * no code this version knows, PROTO_ERR when it is neither form. */
int proto_error_read(const msgpack_object *error, const char **text, size_t *len);

enum proto_status {
	PROTO_ERR = -1, /* the stream is broken; sticky; close the peer */
	PROTO_OK = 0,
	PROTO_AGAIN = 1,   /* need more bytes */
	PROTO_INVALID = 2, /* one frame was well-formed msgpack but not a valid
	                    * message; it is consumed and the stream goes on */
};

enum proto_kind {
	PROTO_REQUEST = 0,
	PROTO_RESPONSE = 1,
	PROTO_NOTIFY = 2,
};

/* One decoded message. Every pointer is borrowed from the reader and valid
 * until the next proto_reader_next() or proto_reader_free(). */
struct proto_msg {
	enum proto_kind kind;
	bool has_msgid;     /* set for PROTO_INVALID when recoverable */
	uint32_t msgid;     /* request, response */
	const char *method; /* request, notify: a str or bin; not NUL-terminated */
	size_t method_len;
	const msgpack_object *params; /* request, notify: always an array */
	const msgpack_object *error;  /* response: nil or [kind, message] (proto_error_read) */
	const msgpack_object *result; /* response */
};

struct proto_reader;

/* Caller frees with proto_reader_free(). NULL on allocation failure.
 * max_frame 0 means PROTO_MAX_FRAME. */
struct proto_reader *proto_reader_new(size_t max_frame);
void proto_reader_free(struct proto_reader *r);

/* Append bytes from the stream. PROTO_ERR when out of memory, on bytes that
 * are not msgpack, or when the frame being assembled exceeds a limit (its
 * size, its nesting, or a declared length that cannot fit). The frames
 * completed before the bad byte are still returned by proto_reader_next(),
 * so that what a peer asked before it erred is answered. */
int proto_reader_feed(struct proto_reader *r, const void *buf, size_t len);

/* Next complete message: PROTO_OK, PROTO_AGAIN, PROTO_INVALID (msg->kind and
 * msg->msgid filled where known) or PROTO_ERR once the stream is broken and
 * every frame completed before the break was returned. */
int proto_reader_next(struct proto_reader *r, struct proto_msg *msg);

/* True while part of a frame is held, waiting for the rest. */
bool proto_reader_partial(const struct proto_reader *r);

/* Why the last call failed; borrowed, valid until the next call. */
const char *proto_reader_error(const struct proto_reader *r);

/* A growing buffer to pack one message into. A failed allocation is
 * remembered (oom) instead of leaving a truncated frame to be sent. */
struct proto_buf {
	char *data;
	size_t size;
	size_t cap;
	msgpack_packer pk;
	bool oom;
};

void proto_buf_init(struct proto_buf *b);
/* Empty it for the next message; keeps the memory. */
void proto_buf_reset(struct proto_buf *b);
/* Append bytes already packed (part of a message packed once, sent in
 * several frames). */
void proto_buf_append(struct proto_buf *b, const void *data, size_t len);
void proto_buf_destroy(struct proto_buf *b);

/* Packing. Headers pack the envelope; the caller then packs exactly one
 * object: the params array (request, notify) or the result (response). */
void proto_pack_request_header(msgpack_packer *pk, uint32_t msgid, const char *method);
void proto_pack_notify_header(msgpack_packer *pk, const char *method);
void proto_pack_result_header(msgpack_packer *pk, uint32_t msgid);
/* A complete error response: [1, msgid, [kind, "name: message"], nil], or
 * [kind, "name"] when message is NULL. */
void proto_pack_error(msgpack_packer *pk, uint32_t msgid, int code, const char *message);

/* Small helpers for maps of options and results. A NULL string packs nil.
 * Inline, so that a key's length is known when compiled: every reply and
 * notification packs several. */
static inline void proto_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t len;

	if (s == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	len = strlen(s);
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

static inline void proto_pack_kv_str(msgpack_packer *pk, const char *key, const char *value)
{
	proto_pack_cstr(pk, key);
	proto_pack_cstr(pk, value);
}

static inline void proto_pack_kv_int(msgpack_packer *pk, const char *key, int64_t value)
{
	proto_pack_cstr(pk, key);
	msgpack_pack_int64(pk, value);
}

static inline void proto_pack_kv_bool(msgpack_packer *pk, const char *key, bool value)
{
	proto_pack_cstr(pk, key);
	if (value)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

/* Typed accessors. params must be an array with zero elements or one map
 * (nil or an empty array in its place mean no options, as Neovim's Lua
 * sends {}). Returns the map, or NULL when there are no options; sets *err
 * to PROTO_PARAMS_BAD and returns NULL on a wrong shape. */
#define PROTO_PARAMS_BAD "params must be [], [nil], [[]] or [map]"
const msgpack_object *proto_params_map(const msgpack_object *params, const char **err);

/* Value of key in map, or NULL when map is NULL or the key is absent. */
const msgpack_object *proto_map_get(const msgpack_object *map, const char *key);

/* Each returns PROTO_OK, PROTO_AGAIN when the key is absent or nil (the
 * output is left alone), or PROTO_ERR on a wrong type. */
int proto_map_str(const msgpack_object *map, const char *key, const char **s, size_t *len);
int proto_map_bool(const msgpack_object *map, const char *key, bool *v);
int proto_map_int(const msgpack_object *map, const char *key, int64_t *v);
int proto_map_array(const msgpack_object *map, const char *key, const msgpack_object_array **v);

/* NUL-terminated copy of a str object; caller frees with free(). NULL when
 * o is not a str, contains a NUL byte, or memory runs out. */
char *proto_strdup(const msgpack_object *o);

/* True when o is a str equal to s. */
bool proto_str_eq(const msgpack_object *o, const char *s);

/* True when s[0..len) is well-formed UTF-8 (no overlong forms, surrogates
 * or code points past U+10FFFF). A string the daemon keeps and replies must
 * be, or one peer's bytes would make every JSON reader of status fail. */
bool proto_utf8_valid(const char *s, size_t len);

#endif
