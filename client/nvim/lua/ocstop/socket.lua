-- Where ocstopd listens and whether to trust it: the rule of proto/paths.c, which the daemon, the
-- CLI and the OpenCode shim follow too. Whoever listens there can run Lua in this editor (the
-- subscription's events are nvim_exec_lua calls), so a directory someone else could have bound the
-- socket in is refused before connecting, and so is one below a directory others may write to
-- (parents_refusal, beyond the C rule: they could swap it for theirs after the check).
local M = {}

-- sockaddr_un's sun_path less its NUL (PROTO_MAX_SOCKET_PATH).
M.MAX_PATH = 107

-- The group and other permission bits (S_IRWXG | S_IRWXO).
local OPEN_BITS = 64

local function given(v)
  return v ~= nil and v ~= '' and v or nil
end

-- The socket's path from the environment (getenv(name)) and the uid: OCSTOP_SOCKET, else
-- $XDG_RUNTIME_DIR/ocstop/ocstop.sock when that is absolute, else /tmp/ocstop-UID/ocstop.sock.
-- Returns path, or nil and why.
function M.path(getenv, uid)
  local path
  local env = given(getenv('OCSTOP_SOCKET'))
  local xdg = given(getenv('XDG_RUNTIME_DIR'))
  if env then
    if env:sub(1, 1) ~= '/' then
      return nil, 'OCSTOP_SOCKET must be an absolute path'
    end
    path = env
  elseif xdg and xdg:sub(1, 1) == '/' then
    path = xdg .. '/ocstop/ocstop.sock'
  else
    path = ('/tmp/ocstop-%d/ocstop.sock'):format(uid)
  end
  if #path > M.MAX_PATH then
    return nil, 'the socket path is too long for a Unix socket; set OCSTOP_SOCKET'
  end
  return path
end

-- The directory a socket path is in.
function M.dir(path)
  local dir = path:match('^(.*)/[^/]*$')
  if dir == nil then
    return '.'
  end
  return dir == '' and '/' or dir
end

-- Why a directory with this lstat (type, uid, mode) must not be trusted, or nil.
function M.refusal(st, me)
  if st.type ~= 'directory' then
    return 'is not a directory'
  end
  if st.uid ~= me then
    return 'is owned by another user'
  end
  if st.mode % OPEN_BITS ~= 0 then
    return 'is open to other users'
  end
  return nil
end

local function bit(mode, value)
  return math.floor(mode / value) % 2 == 1
end

-- Why the parents of dir (absolute, with no symbolic link) must not be trusted, or nil: whoever may
-- rename an entry of one may swap dir for a directory of their own between the check and the
-- connection. Each must be root's or mine, and closed to others' writes or sticky (as /tmp is).
function M.parents_refusal(dir, lstat, me)
  local d = dir
  while d ~= '/' do
    d = M.dir(d)
    local st = lstat(d)
    if st == nil then
      return nil
    end
    local why
    if st.uid ~= me and st.uid ~= 0 then
      why = 'is owned by another user'
    elseif (bit(st.mode, 16) or bit(st.mode, 2)) and not bit(st.mode, 512) then
      why = 'may be written to by other users'
    end
    if why then
      return ('its parent directory %s %s (owner uid %d, mode %04o)'):format(d, why, st.uid, st.mode % 4096)
    end
  end
  return nil
end

-- Nil when path's directory may be trusted, else the sentence refusing it. A directory that cannot
-- be read is left to the connection to report, as the CLI does.
function M.check(path, lstat, me)
  local dir = M.dir(path)
  local st = lstat(dir)
  if st == nil then
    return nil
  end
  local why = M.refusal(st, me)
  if why == nil then
    return nil
  end
  return ('refusing to use %s: its directory %s %s (owner uid %d, mode %04o); it must be yours '
    .. 'with mode 0700, so that no one else can listen there'):format(path, dir, why, st.uid,
    st.mode % 4096)
end

return M
