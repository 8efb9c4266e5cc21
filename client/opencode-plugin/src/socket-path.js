// socket-path.js: where ocstopd listens, by the rule of proto/paths.c (proto_socket_path).
//
//   $OCSTOP_SOCKET if set and not empty; it must be absolute (a relative one is an error),
//   else $XDG_RUNTIME_DIR/ocstop/ocstop.sock if that is set, not empty and absolute (the XDG spec
//   says a relative one is ignored), else /tmp/ocstop-$UID/ocstop.sock;
//   a path over 107 bytes does not fit a sockaddr_un and is an error.
//
// tests/js/socket-path.test.mjs runs both rules under the same environments.

// sun_path holds 108 bytes, one of them the terminating NUL.
const MAX_SOCKET_PATH = 107;

// Set and not empty: shells make an empty variable easy to create by mistake, so it counts as unset.
function given(env, name) {
  const v = env[name];
  return typeof v === "string" && v !== "" ? v : null;
}

// The path, or an Error thrown with the reason there is none.
export function socketPath(env, uid) {
  let path;
  const socket = given(env, "OCSTOP_SOCKET");
  const runtime = given(env, "XDG_RUNTIME_DIR");
  if (socket !== null) {
    // The daemon and its clients run in different directories.
    if (!socket.startsWith("/")) throw new Error("OCSTOP_SOCKET must be an absolute path");
    path = socket;
  } else if (runtime !== null && runtime.startsWith("/")) {
    path = `${runtime}/ocstop/ocstop.sock`;
  } else {
    path = `/tmp/ocstop-${uid}/ocstop.sock`;
  }
  // The bound is in bytes, as the kernel counts them, not in UTF-16 units.
  if (new TextEncoder().encode(path).length > MAX_SOCKET_PATH) throw new Error("the socket path is too long for a Unix socket; set OCSTOP_SOCKET");
  return path;
}
