#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fake-backend.h"

static int fake_open(struct server *s, void *ctx, void *channel, void **priv)
{
	struct fakes *fs = ctx;
	struct fake *f = calloc(1, sizeof(*f));

	(void)channel;
	assert_non_null(f);
	assert_true(fs->n < FAKE_MAX_SERVERS);
	f->srv = s;
	fs->all[fs->n++] = f;
	*priv = f;
	return 0;
}

/* Close answers every abort still in flight, as the backends promise. */
static void fake_close(void *priv)
{
	struct fake *f = priv;
	size_t i;

	f->closed = true;
	for (i = 0; i < f->n_aborts; i++) {
		if (f->aborts[i].answered)
			continue;
		f->aborts[i].answered = true;
		f->aborts[i].cb(f->aborts[i].arg, false, "the server was removed", 0);
	}
	for (i = 0; i < f->n_probes; i++)
		if (!f->probes[i].answered)
			fake_answer_probe(f, i, PROBE_FAILED, 0);
	for (i = 0; i < f->n_checks; i++)
		if (!f->checks[i].answered)
			fake_answer_check(f, i, false, 0);
}

static int fake_check(void *priv, const char *directory, check_done_cb done, void *arg)
{
	struct fake *f = priv;

	if (!f->take_checks)
		return -1;
	assert_true(f->n_checks < FAKE_MAX_PROBES);
	snprintf(f->checks[f->n_checks].directory, sizeof(f->checks[0].directory), "%s",
	    directory != NULL ? directory : "");
	f->checks[f->n_checks].cb = done;
	f->checks[f->n_checks].arg = arg;
	f->checks[f->n_checks++].answered = false;
	return 0;
}

void fake_answer_check(struct fake *f, size_t i, bool ok, int64_t now_ms)
{
	assert_true(i < f->n_checks);
	assert_false(f->checks[i].answered);
	f->checks[i].answered = true;
	f->checks[i].cb(f->checks[i].arg, ok, now_ms);
}

static int fake_probe(void *priv, const char *session_id, probe_done_cb done, void *arg)
{
	struct fake *f = priv;

	(void)session_id;
	if (!f->take_probes)
		return -1;
	assert_true(f->n_probes < FAKE_MAX_PROBES);
	f->probes[f->n_probes].cb = done;
	f->probes[f->n_probes].arg = arg;
	f->probes[f->n_probes++].answered = false;
	return 0;
}

void fake_answer_probe(struct fake *f, size_t i, enum probe_outcome outcome, int64_t now_ms)
{
	assert_false(f->probes[i].answered);
	f->probes[i].answered = true;
	f->probes[i].cb(f->probes[i].arg, outcome, now_ms);
}

static int fake_abort(void *priv, const char *session_id, const char *directory, int64_t timeout_ms,
    abort_done_cb cb, void *arg)
{
	struct fake *f = priv;
	struct fake_abort *a;

	(void)directory;
	assert_false(f->closed);
	if (f->refuse)
		return -1;
	assert_true(f->n_aborts < FAKE_MAX_ABORTS);
	a = &f->aborts[f->n_aborts++];
	snprintf(a->session, sizeof(a->session), "%s", session_id);
	a->timeout_ms = timeout_ms;
	a->cb = cb;
	a->arg = arg;
	return 0;
}

static void fake_resync(void *priv, const char *directory)
{
	(void)directory;
	((struct fake *)priv)->resyncs++;
}

static void fake_lookup(void *priv, const char *session_id, const char *directory)
{
	(void)session_id;
	(void)directory;
	((struct fake *)priv)->lookups++;
}

const struct backend_ops fake_backend_ops = {
	.open = fake_open,
	.close = fake_close,
	.abort = fake_abort,
	.resync = fake_resync,
	.lookup = fake_lookup,
	.probe = fake_probe,
	.check = fake_check,
};

struct fake *fake_of(struct fakes *fs, const struct server *s)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		if (fs->all[i]->srv == s)
			return fs->all[i];
	fail_msg("no fake for the server");
	return NULL;
}

void fake_answer(struct fake *f, size_t i, bool ok, const char *error, int64_t now_ms)
{
	assert_true(i < f->n_aborts);
	assert_false(f->aborts[i].answered);
	f->aborts[i].answered = true;
	f->aborts[i].cb(f->aborts[i].arg, ok, error, now_ms);
}

void fakes_free(struct fakes *fs)
{
	size_t i;

	for (i = 0; i < fs->n; i++)
		free(fs->all[i]);
	fs->n = 0;
}
