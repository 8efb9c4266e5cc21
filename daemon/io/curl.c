#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "io/curl.h"

/* The soname every libcurl 7 and 8 build has (Debian's libcurl4, Fedora's
 * libcurl). */
#define CURL_SONAME "libcurl.so.4"

#define CURL_SYM(name) \
	{ \
		"curl_" #name, offsetof(struct curl_api, name) \
	}

static const struct {
	const char *symbol;
	size_t offset;
} curl_syms[] = {
	CURL_SYM(global_init),
	CURL_SYM(global_cleanup),
	CURL_SYM(easy_init),
	CURL_SYM(easy_cleanup),
	CURL_SYM(easy_setopt),
	CURL_SYM(easy_getinfo),
	CURL_SYM(easy_strerror),
	CURL_SYM(slist_append),
	CURL_SYM(slist_free_all),
	CURL_SYM(multi_init),
	CURL_SYM(multi_cleanup),
	CURL_SYM(multi_setopt),
	CURL_SYM(multi_add_handle),
	CURL_SYM(multi_remove_handle),
	CURL_SYM(multi_info_read),
	CURL_SYM(multi_socket_action),
	CURL_SYM(multi_strerror),
	CURL_SYM(multi_assign),
};

static struct curl_api api;
static int loaded;
static char load_error[512];

const struct curl_api *curl_api_load(const char **why)
{
	void *lib, *fn;
	size_t i;

	if (loaded)
		return &api;
	/* Kept loaded for the process's life: nothing calls dlclose. */
	if ((lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(load_error, sizeof load_error,
		    "libcurl cannot be loaded (%s): install it (Debian: libcurl4, Fedora: libcurl)",
		    dlerror());
		*why = load_error;
		return NULL;
	}
	for (i = 0; i < sizeof curl_syms / sizeof curl_syms[0]; i++) {
		if ((fn = dlsym(lib, curl_syms[i].symbol)) == NULL) {
			snprintf(load_error, sizeof load_error, "%s has no %s: not a libcurl",
			    CURL_SONAME, curl_syms[i].symbol);
			dlclose(lib);
			*why = load_error;
			return NULL;
		}
		/* A data pointer to a function pointer, as POSIX dlsym allows. */
		memcpy((char *)&api + curl_syms[i].offset, &fn, sizeof fn);
	}
	loaded = 1;
	return &api;
}
