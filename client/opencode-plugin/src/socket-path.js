// socket-path.js: where ocstopd listens.
//
//   $OCSTOP_SOCKET, else $XDG_RUNTIME_DIR/ocstop/ocstop.sock, else /tmp/ocstop-$UID/ocstop.sock.

export function socketPath(env, uid) {
  if (env.OCSTOP_SOCKET) return env.OCSTOP_SOCKET;
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/ocstop/ocstop.sock`;
  return `/tmp/ocstop-${uid}/ocstop.sock`;
}
