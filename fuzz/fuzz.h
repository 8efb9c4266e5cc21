/* What every fuzz target shares: libFuzzer's entry points and how an invariant fails. */
#ifndef OCSTOP_FUZZ_FUZZ_H
#define OCSTOP_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: abort here, where libFuzzer records the input. */
#define CHECK(cond) \
	do { \
		if (!(cond)) \
			abort(); \
	} while (0)

#endif
