-- The Neovim plugin's logic alone (client/nvim/lua/ocstop/): the socket rule and trust check, the
-- line said for an abort's outcome, a daemon error's text, and the count kept from events. TAP on
-- stdout; run by tests/editor-nvim-unit.sh.
local socket = require('ocstop.socket')
local outcome = require('ocstop.outcome')
local ocstop = require('ocstop')

local n, failed = 0, 0
local function out(s)
  io.stdout:write(s .. '\n')
end
local function eq(name, want, got)
  n = n + 1
  if vim.deep_equal(want, got) then
    out(('ok %d - %s'):format(n, name))
  else
    failed = failed + 1
    out(('not ok %d - %s'):format(n, name))
    out('# want: ' .. vim.inspect(want))
    out('# got:  ' .. vim.inspect(got))
  end
end
local function env(t)
  return function(name)
    return t[name]
  end
end
local function pack(...)
  return { ... }
end

out('1..33')

eq('OCSTOP_SOCKET wins', { '/s/o.sock' },
  pack(socket.path(env({ OCSTOP_SOCKET = '/s/o.sock', XDG_RUNTIME_DIR = '/run/user/7' }), 7)))
eq('a relative OCSTOP_SOCKET is an error', { nil, 'OCSTOP_SOCKET must be an absolute path' },
  pack(socket.path(env({ OCSTOP_SOCKET = 'o.sock' }), 7)))
eq('an empty OCSTOP_SOCKET counts as unset', { '/run/user/7/ocstop/ocstop.sock' },
  pack(socket.path(env({ OCSTOP_SOCKET = '', XDG_RUNTIME_DIR = '/run/user/7' }), 7)))
eq('a relative XDG_RUNTIME_DIR is ignored', { '/tmp/ocstop-7/ocstop.sock' },
  pack(socket.path(env({ XDG_RUNTIME_DIR = 'run' }), 7)))
eq('nothing set: the /tmp fallback', { '/tmp/ocstop-0/ocstop.sock' }, pack(socket.path(env({}), 0)))
eq('a path too long for a Unix socket is an error', 'the socket path is too long for a Unix socket; set OCSTOP_SOCKET',
  select(2, socket.path(env({ OCSTOP_SOCKET = '/' .. ('a'):rep(socket.MAX_PATH) }), 7)))
eq('a path of exactly the longest length is taken', socket.MAX_PATH,
  #socket.path(env({ OCSTOP_SOCKET = '/' .. ('a'):rep(socket.MAX_PATH - 1) }), 7))

eq('the directory of a path', '/a/b', socket.dir('/a/b/c.sock'))
eq('the root directory', '/', socket.dir('/c.sock'))
eq('a bare name is in .', '.', socket.dir('c.sock'))

local dir700 = { type = 'directory', uid = 7, mode = 16384 + 448 }
eq('a directory of mine, 0700, is trusted', nil, socket.refusal(dir700, 7))
eq('a link is not a directory', 'is not a directory', socket.refusal({ type = 'link', uid = 7, mode = 41471 }, 7))
eq("another user's directory", 'is owned by another user', socket.refusal(dir700, 8))
eq('a directory others may read (0701)', 'is open to other users',
  socket.refusal({ type = 'directory', uid = 7, mode = 16384 + 449 }, 7))
eq('the refusal names path, directory, owner and mode',
  'refusing to use /d/o.sock: its directory /d is open to other users (owner uid 7, mode 0750); '
    .. 'it must be yours with mode 0700, so that no one else can listen there',
  socket.check('/d/o.sock', function()
    return { type = 'directory', uid = 7, mode = 16384 + 488 }
  end, 7))
eq('a directory that cannot be read is left to the connection', nil, socket.check('/d/o.sock', function() end, 7))
-- Above the socket's directory: whoever may rename its entries may swap it for a directory of
-- their own between the check and the connection.
local function tree(t)
  return function(p)
    return t[p]
  end
end
local root755 = { type = 'directory', uid = 0, mode = 16384 + 493 }
eq('parents owned by root or me, closed or sticky, are trusted', nil, socket.parents_refusal('/tmp/d/o', tree({
  ['/tmp/d/o'] = dir700, ['/tmp/d'] = dir700, ['/tmp'] = { type = 'directory', uid = 0, mode = 16384 + 1023 },
  ['/'] = root755 }), 7))
eq('a parent others may write to, without the sticky bit, is refused',
  'its parent directory /w may be written to by other users (owner uid 0, mode 0777)',
  socket.parents_refusal('/w/ocstop', tree({ ['/w'] = { type = 'directory', uid = 0, mode = 16384 + 511 },
    ['/'] = root755 }), 7))
eq("a parent of another user's is refused", 'its parent directory /h is owned by another user (owner uid 8, mode 0755)',
  socket.parents_refusal('/h/ocstop', tree({ ['/h'] = { type = 'directory', uid = 8, mode = 16384 + 493 },
    ['/'] = root755 }), 7))

local function stop(id, ok, ms, children, reason)
  return { session = id, stopped = ok, ms = ms, children = children or {}, reason = reason or vim.NIL }
end
eq('trees and their children counted, the slowest time said',
  { 'ocstop: stopped 3 sessions in 28 ms (verified)', true },
  pack(outcome.summary({ stop('ses_a', true, 12), stop('ses_b', true, 28, { 'ses_c' }) })))
eq('one session', { 'ocstop: stopped 1 session in 5 ms (verified)', true },
  pack(outcome.summary({ stop('ses_a', true, 5) })))
eq('what was not stopped and why',
  { 'ocstop: stopped 1 session in 5 ms (verified); NOT stopped ses_b: still running after 2 attempts', false },
  pack(outcome.summary({ stop('ses_a', true, 5), stop('ses_b', false, -1, {}, 'still running after 2 attempts') })))
eq('no reason (nil on the wire) reads "not verified"', { 'ocstop: NOT stopped ses_b: not verified', false },
  pack(outcome.summary({ stop('ses_b', false, -1) })))
eq("a reason's control characters and C1 shown as '?'",
  { 'ocstop: NOT stopped ses_b: a?b?[31m???c', false },
  pack(outcome.summary({ stop('ses_b', false, -1, {}, 'a\nb\27[31m\127\194\155c') })))
eq('no result: nothing to stop', { 'ocstop: nothing to stop', true }, pack(outcome.summary({})))
eq('outcomes that never came are named',
  { 'ocstop: no outcome for ses_a, ses_b: the daemon went away', false },
  pack(outcome.summary({}, { 'ses_a', 'ses_b' }, 'the daemon went away')))

eq("a daemon error in the CLI's form", 'ocstop: no such session: ses_z (not_found)',
  outcome.error('not_found: no such session: ses_z'))
eq("an error's control characters shown as '?'", 'ocstop: the shim refused: a?b?[2J (opencode_unreachable)',
  outcome.error('opencode_unreachable: the shim refused: a\nb\27[2J'))
eq("Neovim's own wrapping is dropped", 'ocstop: unknown error',
  outcome.error("Vim:Error invoking 'abort' on channel 3:\nunknown error"))

-- The count, from events alone: busy and retry count, idle and deleted do not, an event of an
-- earlier connection (another generation) is ignored.
local function ev(type, id, status)
  ocstop._event(0, { type = type, session = { id = id, status = status } })
end
ev('session.status', 'a', 'busy')
ev('session.status', 'b', 'retry')
ev('session.created', 'c', 'idle')
ev('session.status', 'a', 'busy')
local counts = { ocstop.count() }
ocstop._event(1, { type = 'session.status', session = { id = 'd', status = 'busy' } })
counts[2] = ocstop.count()
ev('session.status', 'a', 'idle')
ev('session.deleted', 'b', 'retry')
counts[3] = ocstop.count()
eq('the count follows the events', { 2, 2, 0 }, counts)

eq('setup names an option of the wrong type', 'ocstop.setup: keymap must be a string',
  select(2, pcall(ocstop.setup, { keymap = 1 })):match('ocstop%.setup: .*'))
eq('and an unknown one', 'ocstop.setup: unknown option keymaps',
  select(2, pcall(ocstop.setup, { keymaps = 'x' })):match('ocstop%.setup: .*'))
-- Neovim 0.7's libuv cuts a longer path short without a word: a socket elsewhere would be reached.
eq('and a socket path too long for a Unix socket',
  ('ocstop.setup: socket is too long for a Unix socket (at most %d bytes)'):format(socket.MAX_PATH),
  tostring((select(2, pcall(ocstop.setup, { socket = '/' .. ('a'):rep(socket.MAX_PATH) })))):match('ocstop%.setup: .*'))

vim.cmd(failed == 0 and 'qa!' or 'cquit 1')
