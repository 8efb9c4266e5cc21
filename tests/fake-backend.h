/*
 * A backend for unit tests: it records what the engine asks of it, and the
 * test answers. Registered for a transport with engine_set_backend(e, t,
 * &fake_backend_ops, &fakes).
 */
#ifndef OCSTOP_TESTS_FAKE_BACKEND_H
#define OCSTOP_TESTS_FAKE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/server.h"

#define FAKE_MAX_ABORTS 64
#define FAKE_MAX_PROBES 64
#define FAKE_MAX_SERVERS 8

/* One abort the engine asked for. */
struct fake_abort {
	char session[64];
	int64_t timeout_ms;
	abort_done_cb cb;
	void *arg;
	bool answered;
};

/* The fake backend of one server. */
struct fake {
	struct server *srv;
	struct fake_abort aborts[FAKE_MAX_ABORTS];
	size_t n_aborts;
	bool refuse; /* abort() returns -1: not sent */
	bool closed;
	size_t resyncs;
	size_t lookups;
	bool take_probes; /* probe() takes requests; otherwise it returns -1 */
	struct {
		probe_done_cb cb;
		void *arg;
		bool answered;
	} probes[FAKE_MAX_PROBES];
	size_t n_probes;
	bool take_checks; /* check() takes requests; otherwise it returns -1 */
	struct {
		char directory[64];
		check_done_cb cb;
		void *arg;
		bool answered;
	} checks[FAKE_MAX_PROBES];
	size_t n_checks;
};

/* Every fake a test's engine opened; the ctx of engine_set_backend(). */
struct fakes {
	struct fake *all[FAKE_MAX_SERVERS];
	size_t n;
};

extern const struct backend_ops fake_backend_ops;

/* The fake of server s; fails the test when there is none. */
struct fake *fake_of(struct fakes *fs, const struct server *s);
/* Answer abort i of f, as the backend would. */
void fake_answer(struct fake *f, size_t i, bool ok, const char *error, int64_t now_ms);
/* Answer probe i of f. */
void fake_answer_probe(struct fake *f, size_t i, enum probe_outcome outcome, int64_t now_ms);
/* Answer check i of f: ok when the statuses were observed. */
void fake_answer_check(struct fake *f, size_t i, bool ok, int64_t now_ms);
void fakes_free(struct fakes *fs);

#endif
