// socket-path.js: where ocstopd listens, by the rule of proto/paths.c (proto_socket_path).
//
//   $OCSTOP_SOCKET if set and not empty; it must be absolute (a relative one is an error),
//   else $XDG_RUNTIME_DIR/ocstop/ocstop.sock if that is set, not empty and absolute (the XDG spec
//   says a relative one is ignored), else /tmp/ocstop-$UID/ocstop.sock;
//   a path over 107 bytes does not fit a sockaddr_un and is an error.
//
// Whom to trust there, by proto's rule too (proto_socket_dir_refusal): the socket's directory must be
// a directory (not a link) owned by us and closed to everyone else, so that nobody else can have bound
// the socket; the socket itself must be ours. The CLI also asks the kernel who listens (SO_PEERCRED);
// Bun's sockets cannot, so the shim relies on the directory.
//
// tests/js/socket-path.test.mjs runs both rules under the same environments and directories.

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

// The mode the daemon makes the socket's directory with; group and others get nothing.
export const SOCKET_DIR_MODE = 0o700;

// The directory part of a socket path: "/" for "/x", "." for a bare name.
export function socketDir(path) {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

// null when a directory with lstat's facts (mode, uid) passes the rule for the user uid, else why not.
export function socketDirRefusal({ mode, uid: owner }, uid) {
  if ((mode & 0o170000) !== 0o040000) return "is not a directory";
  if (owner !== uid) return "is owned by another user";
  if ((mode & 0o077) !== 0) return "is open to other users";
  return null;
}

const octal = (mode) => (mode & 0o7777).toString(8).padStart(4, "0");

// null when the daemon's socket at path may be trusted by the user uid, else why not, in the CLI's
// words. lstat(path) is fs.promises.lstat or a stand-in. What cannot be read is left to the
// connection to report.
export async function socketRefusal(path, uid, lstat) {
  const dir = socketDir(path);
  let st;
  try {
    st = await lstat(dir);
  } catch {
    return null;
  }
  const why = socketDirRefusal(st, uid);
  if (why !== null) {
    return `refusing to use ${path}: its directory ${dir} ${why} (owner uid ${st.uid}, mode ${octal(st.mode)}); it must be yours with mode ${octal(SOCKET_DIR_MODE)}, so that no one else can listen there`;
  }
  try {
    st = await lstat(path);
  } catch {
    return null;
  }
  return st.uid === uid ? null : `refusing to use ${path}: it belongs to uid ${st.uid}, not to you (uid ${uid})`;
}
