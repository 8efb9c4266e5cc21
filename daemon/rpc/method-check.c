#include <string.h>

#include "core/config.h"
#include "engine/engine.h"
#include "proto.h"
#include "rpc/rpc.h"

/* The configured word text matches, or NULL: config_is_stop_word asked of
 * each word alone (c's words are their keys, so this is the same test). */
static const char *matched_word(const struct config *c, const char *text, size_t len)
{
	struct config one = *c;
	size_t i;

	for (i = 0; i < c->n_stop_words; i++) {
		one.stop_words[0] = c->stop_words[i];
		one.n_stop_words = 1;
		if (config_is_stop_word(&one, text, len))
			return c->stop_words[i];
	}
	return NULL;
}

/* What message would answer for text, for people trying their stop words:
 * no verdict is given, counted or published, nothing is stopped. */
static int method_check(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	const struct config *cfg = engine_config(rpc_engine(call));
	const char *text = NULL, *word = NULL;
	size_t len = 0;
	msgpack_packer *pk;

	if (proto_map_str(opts, "text", &text, &len) != PROTO_OK) {
		*msg = "check needs text (a string)";
		return PROTO_EBADREQ;
	}
	/* message never compares a text this long: nor does check. */
	if (len <= RPC_MAX_TEXT && config_is_stop_word(cfg, text, len))
		word = matched_word(cfg, text, len);
	if ((pk = rpc_reply_begin(call)) == NULL)
		return 0;
	msgpack_pack_map(pk, word != NULL ? 4 : 3);
	proto_pack_kv_bool(pk, "stop", word != NULL);
	if (word != NULL)
		proto_pack_kv_str(pk, "word", word);
	proto_pack_kv_str(pk, "if_running", word != NULL ? "abort" : "pass");
	proto_pack_kv_str(pk, "if_idle", word != NULL ? "clear" : "pass");
	rpc_reply_end(call);
	return 0;
}

const struct method_entry method_check_entry = {
	.name = PROTO_M_CHECK,
	.how = METHOD_REQUEST,
	.exec = method_check,
};
