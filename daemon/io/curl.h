/*
 * libcurl, loaded when the daemon first needs HTTP rather than linked: the
 * thirty libraries it brings would otherwise be loaded before the daemon
 * answers anything (bench/startup: about 9 ms of every start warm, 50 ms
 * with cold files), which a client waiting on an activated socket pays.
 * Only io/http.c calls libcurl, through this table.
 */
#ifndef OCSTOP_IO_CURL_H
#define OCSTOP_IO_CURL_H

#include <curl/curl.h>

/* The functions io/http.c calls, with curl.h's own types. */
struct curl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_strerror) *multi_strerror;
	__typeof__(curl_multi_assign) *multi_assign;
};

/* The table, loading libcurl on the first call; NULL with *why (static text,
 * valid until the next call) when it cannot be loaded. A failed load is tried
 * again at the next call: libcurl may have been installed since. */
const struct curl_api *curl_api_load(const char **why);

#endif
