/*
 * msgpack-echo: reads msgpack objects from stdin and writes each back as msgpack-c packs it
 * (msgpack_pack_object). tests/js/msgpack.test.mjs uses it to check that the plugin shim's codec and
 * msgpack-c agree byte for byte. Exits 1 on bytes that are not msgpack or on a truncated object.
 */
#include <stdio.h>
#include <stdlib.h>

#include <msgpack.h>

int main(void)
{
	msgpack_unpacker up;
	msgpack_unpacked obj;
	msgpack_sbuffer out;
	msgpack_packer pk;
	size_t n;
	int rc = 0, ret;

	if (!msgpack_unpacker_init(&up, 1 << 16))
		return 2;
	msgpack_unpacked_init(&obj);
	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);

	for (;;) {
		if (msgpack_unpacker_buffer_capacity(&up) < 1 << 16 &&
		    !msgpack_unpacker_reserve_buffer(&up, 1 << 16)) {
			rc = 2;
			break;
		}
		n = fread(msgpack_unpacker_buffer(&up), 1, msgpack_unpacker_buffer_capacity(&up),
		    stdin);
		msgpack_unpacker_buffer_consumed(&up, n);
		while ((ret = msgpack_unpacker_next(&up, &obj)) == MSGPACK_UNPACK_SUCCESS)
			msgpack_pack_object(&pk, obj.data);
		if (ret != MSGPACK_UNPACK_CONTINUE) {
			fprintf(stderr, "msgpack-echo: bad input (%d)\n", ret);
			rc = 1;
			break;
		}
		if (n == 0) {
			if (msgpack_unpacker_message_size(&up) != 0) {
				fprintf(stderr, "msgpack-echo: truncated input\n");
				rc = 1;
			}
			break;
		}
	}
	if (fwrite(out.data, 1, out.size, stdout) != out.size)
		rc = 2;
	msgpack_sbuffer_destroy(&out);
	msgpack_unpacked_destroy(&obj);
	msgpack_unpacker_destroy(&up);
	return rc;
}
