-- ocstop for Neovim: stop OpenCode's running sessions from the editor, and count the busy ones in
-- the status line. Speaks ocstopd's msgpack-rpc itself over a sockconnect() channel: requests the
-- daemon answers at once (subscribe, status, abort with wait = false), and the events it then
-- sends as nvim_exec_lua calls. Nothing waits for a stop's proof: it arrives as stop events.
local socket = require('ocstop.socket')
local outcome = require('ocstop.outcome')

local uv = vim.uv or vim.loop
local unpack = table.unpack or unpack
local M = {}

-- The running sessions read from `status` at each connection; events keep the count from then on.
local STATUS_LIMIT = 256
-- What :OcStopStatus lists at most: sessions, and characters of a title.
local STATUS_SHOWN = 20
local TITLE_SHOWN = 60
-- Reconnection after the daemon went away (or was not there while the status line wants it):
-- the first wait, doubled at each failure up to the last.
local RETRY_FIRST_MS = 100
local RETRY_MAX_MS = 10000
-- An abort's roots whose final stop event has not come are given up on after this long.
local OUTCOME_TIMEOUT_MS = 30000
-- How long the daemon has to answer a ping before a request is sent (then it answers that request at
-- once too) or the connection is given up.
local PROBE_TIMEOUT_MS = 2000
-- At most this many final stop events are kept while an abort's reply is awaited (its stops may end
-- before their roots are known here).
local EARLY_FINALS_MAX = 64
-- The first protocol whose subscriptions Neovim can run (subscribe's nvim option).
local PROTOCOL_MIN = 6
local EVENTS = { 'session.created', 'session.status', 'session.deleted', 'stop', 'server.connected',
  'server.disconnected' }

local PING = vim.mpack.encode({ 0, 0, 'ping', { vim.empty_dict() } })

local config = {
  socket = nil,
  keymap = nil,
  statusline = { format = 'oc:%d' },
  outcome_timeout_ms = OUTCOME_TIMEOUT_MS,
}

local state = {
  ch = nil, -- the rpc channel, subscribed
  waiters = {}, -- the callers of ready() waiting for a probe's answer
  probe_timer = nil,
  gen = 0, -- bumped when a connection ends: events and EOFs of an older one are ignored
  watcher = nil, -- a libuv pipe to the daemon: its EOF, the probes
  running = {}, -- id -> true for each busy (or retrying) session
  count = nil, -- #running, nil while not connected
  wanted = false, -- the status line asked for the count: stay connected
  retry_ms = nil,
  retry_timer = nil,
  aborts = {}, -- the aborts whose outcome is awaited
  early = nil, -- root -> final stop, while an abort's reply is awaited
  early_n = 0,
  path = nil,
}

local function say(text, hl)
  vim.schedule(function()
    vim.api.nvim_echo({ hl and { text, hl } or { text } }, true, {})
  end)
end

local function redraw()
  vim.schedule(function()
    vim.cmd('redrawstatus!')
  end)
end

local function recount()
  local n = 0
  for _ in pairs(state.running) do
    n = n + 1
  end
  state.count = n
  redraw()
end

local function is_running(status)
  return status == 'busy' or status == 'retry'
end

-- libuv's names for why a connection failed, as the CLI says them.
local CONNECT_ERRORS = {
  ENOENT = 'No such file or directory (is ocstopd running?)',
  ECONNREFUSED = 'Connection refused (is ocstopd running?)',
  EACCES = 'Permission denied',
}

local function clean(err)
  return (tostring(err):gsub('^Vim:', ''))
end

-- The socket's path, or nil and why.
local function socket_path()
  if config.socket then
    return config.socket
  end
  return socket.path(os.getenv, uv.getuid())
end

local function finish(abort, missing_why)
  if abort.done then
    return
  end
  abort.done = true
  for i, a in ipairs(state.aborts) do
    if a == abort then
      table.remove(state.aborts, i)
      break
    end
  end
  if abort.timer then
    abort.timer:stop()
    abort.timer:close()
  end
  local stops, missing = {}, {}
  for _, root in ipairs(abort.roots) do
    if abort.finals[root] then
      stops[#stops + 1] = abort.finals[root]
    else
      missing[#missing + 1] = root
    end
  end
  local text, ok = outcome.summary(stops, missing, missing_why)
  say(text, not ok and 'WarningMsg' or nil)
end

local function abort_done(abort)
  for _, root in ipairs(abort.roots) do
    if not abort.finals[root] then
      return false
    end
  end
  return true
end

local schedule_retry, request

-- Every waiter of ready() gets the answer: true, or nil and the error's text.
local function resolve(ok, err)
  local waiters = state.waiters
  state.waiters = {}
  if state.probe_timer then
    state.probe_timer:close()
    state.probe_timer = nil
  end
  for _, w in ipairs(waiters) do
    w(ok, err)
  end
end

-- The connection is over (or never came): forget what it told, say so to whoever waits, and try
-- again later if the status line wants the count.
local function gone(gen, why)
  if gen ~= state.gen then
    return
  end
  state.gen = state.gen + 1
  if state.ch then
    pcall(vim.fn.chanclose, state.ch)
    state.ch = nil
  end
  if state.watcher then
    state.watcher:close()
    state.watcher = nil
  end
  if state.count ~= nil then
    state.running, state.count = {}, nil
    redraw()
  end
  for _, a in ipairs({ unpack(state.aborts) }) do
    finish(a, why)
  end
  resolve(nil, 'ocstop: ' .. why)
  schedule_retry()
end

-- The running sessions from a status reply.
local function count_from(st)
  state.running = {}
  for _, s in ipairs(st.sessions or {}) do
    if is_running(s.status) then
      state.running[s.id] = true
    end
  end
  recount()
end

-- The daemon answered the probe just now, so it answers the channel's requests at once too: open
-- the channel if there is none, subscribe and read the count.
local function answered(gen)
  if gen ~= state.gen or #state.waiters == 0 then
    return
  end
  if state.ch == nil then
    -- sockconnect raises when nothing listens (its documentation says it returns 0).
    local ok, ch = pcall(vim.fn.sockconnect, 'pipe', state.path, { rpc = true })
    if not ok or ch == 0 then
      return gone(gen, ('cannot connect to %s: %s'):format(state.path, clean(ch)))
    end
    state.ch = ch
    local function call(method, params)
      local rok, res = pcall(vim.rpcrequest, ch, method, params)
      if not rok then
        gone(gen, (outcome.error(res):gsub('^ocstop: ', '')))
        return nil
      end
      return res
    end
    local ping = call('ping', vim.empty_dict())
    if ping == nil then
      return
    end
    if type(ping.protocol) ~= 'number' or ping.protocol < PROTOCOL_MIN then
      return gone(gen, ('ocstopd at %s speaks protocol %s; this plugin needs %d or later (update ocstop)')
        :format(state.path, tostring(ping.protocol), PROTOCOL_MIN))
    end
    local lua = ("return require('ocstop')._event(%d, ...)"):format(gen)
    if call('subscribe', { events = EVENTS, nvim = { lua = lua } }) == nil then
      return
    end
    -- After subscribing: an event the status reply already counts came before it.
    local st = call('status', { limit = STATUS_LIMIT })
    if st == nil then
      return
    end
    count_from(st)
    state.retry_ms = nil
  end
  resolve(true)
end

-- A ping on the watcher, answered within PROBE_TIMEOUT_MS or the connection is given up.
local function probe(gen)
  local timer = uv.new_timer()
  state.probe_timer = timer
  timer:start(PROBE_TIMEOUT_MS, 0, function()
    vim.schedule(function()
      -- Unless the answer came while this waited to run.
      if state.probe_timer == timer then
        gone(gen, ('ocstopd at %s did not answer in %d ms'):format(state.path, PROBE_TIMEOUT_MS))
      end
    end)
  end)
  if state.watcher and state.watcher:is_writable() then
    state.watcher:write(PING)
  end
end

-- The watcher: a second connection to the socket, on a libuv pipe, which sees the daemon close it
-- (a sockconnect() channel tells nothing then) and carries the probes; the daemon sends it nothing
-- else, as it never subscribes.
local function open()
  local path, why = socket_path()
  if path then
    why = socket.check(path, uv.fs_lstat, uv.getuid())
  end
  -- Connected to through the directory's real path, whose parents are checked too.
  local real = not why and uv.fs_realpath(socket.dir(path))
  if real then
    path = (real == '/' and '' or real) .. '/' .. path:match('[^/]*$')
    local parents = socket.parents_refusal(real, uv.fs_lstat, uv.getuid())
    if parents then
      why = ('refusing to use %s: %s; someone else could swap its directory for theirs'):format(path, parents)
    elseif #path > socket.MAX_PATH then
      why = ('the socket path %s is too long for a Unix socket; set OCSTOP_SOCKET'):format(path)
    end
  end
  if why then
    return vim.schedule(function()
      resolve(nil, 'ocstop: ' .. why)
      schedule_retry()
    end)
  end
  state.path = path
  local gen = state.gen
  local pipe = uv.new_pipe(false)
  state.watcher = pipe
  local function on_loop(f, ...)
    local args = { ... }
    vim.schedule(function()
      f(unpack(args))
    end)
  end
  probe(gen)
  pipe:connect(path, function(err)
    if err then
      local why = CONNECT_ERRORS[err] or err
      return on_loop(gone, gen, ('cannot connect to %s: %s'):format(path, why))
    end
    pipe:read_start(function(rerr, data)
      if rerr or data == nil then
        on_loop(gone, gen, 'the daemon went away')
      else
        on_loop(answered, gen)
      end
    end)
    pipe:write(PING)
  end)
end

-- Calls done(true) once the daemon has just answered and the channel is subscribed, or done(nil,
-- err); never before returning, so that no caller blocks on a daemon that does not answer.
local function ready(done)
  state.waiters[#state.waiters + 1] = done
  if #state.waiters > 1 then
    return
  end
  if state.watcher then
    probe(state.gen)
  else
    open()
  end
end

schedule_retry = function()
  if not state.wanted or state.retry_timer then
    return
  end
  state.retry_ms = math.min((state.retry_ms or RETRY_FIRST_MS / 2) * 2, RETRY_MAX_MS)
  state.retry_timer = uv.new_timer()
  state.retry_timer:start(state.retry_ms, 0, function()
    vim.schedule(function()
      state.retry_timer:close()
      state.retry_timer = nil
      ready(function() end)
    end)
  end)
end

local function on_stop(stop)
  if stop.reason == 'pending' or type(stop.session) ~= 'string' then
    return
  end
  if state.early and state.early_n < EARLY_FINALS_MAX then
    state.early[stop.session] = stop
    state.early_n = state.early_n + 1
  end
  for _, a in ipairs({ unpack(state.aborts) }) do
    if a.want[stop.session] then
      a.finals[stop.session] = stop
      if abort_done(a) then
        finish(a)
      end
    end
  end
end

-- Each event the daemon sends, run by Neovim as nvim_exec_lua (see subscribe's nvim option).
function M._event(gen, ev)
  if gen ~= state.gen or type(ev) ~= 'table' then
    return
  end
  if ev.type == 'stop' and type(ev.stop) == 'table' then
    return on_stop(ev.stop)
  end
  if ev.type == 'server.connected' or ev.type == 'server.disconnected' then
    -- Sessions of a server that comes or goes change with no event of theirs.
    return vim.schedule(function()
      request('status', { limit = STATUS_LIMIT }, function(st)
        if st and gen == state.gen then
          count_from(st)
        end
      end)
    end)
  end
  local s = ev.session
  if type(s) ~= 'table' or type(s.id) ~= 'string' then
    return
  end
  local was = state.running[s.id] ~= nil
  local now = ev.type ~= 'session.deleted' and is_running(s.status)
  if was ~= now then
    state.running[s.id] = now or nil
    recount()
  end
end

-- method(params) on the channel, once the daemon has just answered a probe (so this synchronous
-- request is answered at once); cb(result, nil, early) or cb(nil, the error's text). early: the
-- final stop events that came while the request was out (run by Neovim as they arrived).
request = function(method, params, cb)
  ready(function(ok, err)
    if not ok then
      return cb(nil, err)
    end
    state.early, state.early_n = {}, 0
    local rok, res = pcall(vim.rpcrequest, state.ch, method, params)
    local early = state.early
    state.early = nil
    if not rok then
      local text = clean(res)
      if text:match('was closed') or text:match('Invalid channel') then
        gone(state.gen, 'the daemon went away')
      end
      return cb(nil, outcome.error(res))
    end
    cb(res, nil, early)
  end)
end

local function await_outcome(res, early)
  local abort = { roots = {}, want = {}, finals = {} }
  for _, s in ipairs(res.results or {}) do
    abort.roots[#abort.roots + 1] = s.session
    abort.want[s.session] = true
    if s.reason ~= 'pending' then
      abort.finals[s.session] = s
    elseif early[s.session] then
      abort.finals[s.session] = early[s.session]
    end
  end
  if abort_done(abort) then
    return finish(abort)
  end
  state.aborts[#state.aborts + 1] = abort
  abort.timer = uv.new_timer()
  abort.timer:start(config.outcome_timeout_ms, 0, function()
    vim.schedule(function()
      if not abort.done then
        finish(abort, ('none came in %d ms'):format(config.outcome_timeout_ms))
      end
    end)
  end)
end

-- Stop the running sessions of the current project (the CLI's rule: the real path of the working
-- directory, its subfolders included), or all of them. Returns at once; the outcome is echoed when
-- it is proven.
function M.stop(opts)
  opts = opts or {}
  local params = { wait = false }
  if opts.all then
    params.all = true
  else
    local dir, err = uv.fs_realpath(vim.fn.getcwd())
    if not dir then
      return say(('ocstop: %s: %s'):format(vim.fn.getcwd(), err), 'ErrorMsg')
    end
    params.directory = dir
  end
  request('abort', params, function(res, err, early)
    if not res then
      return say(err, 'ErrorMsg')
    end
    await_outcome(res, early)
  end)
end

-- :OcStopStatus: the daemon and what runs, at most STATUS_SHOWN sessions, titles cut to
-- TITLE_SHOWN characters (a title may be 512 bytes), so that it never fills the screen.
function M.show_status()
  request('status', { limit = STATUS_LIMIT }, function(st, err)
    if not st then
      return say(err, 'ErrorMsg')
    end
    local lines, running = {}, 0
    for _, s in ipairs(st.sessions or {}) do
      if is_running(s.status) then
        running = running + 1
        if running <= STATUS_SHOWN then
          local title = type(s.title) == 'string' and outcome.safe(vim.fn.strcharpart(s.title, 0, TITLE_SHOWN)) or ''
          local dir = type(s.directory) == 'string' and outcome.safe(s.directory) or '?'
          lines[#lines + 1] = ('  %s %s %s %s'):format(s.id, s.status, dir, title)
        end
      end
    end
    if running > STATUS_SHOWN then
      lines[#lines + 1] = ('  and %d more'):format(running - STATUS_SHOWN)
    end
    local servers = 0
    for _, sv in ipairs(st.servers or {}) do
      if sv.connected then
        servers = servers + 1
      end
    end
    table.insert(lines, 1, ('ocstop: %s: %d running, %d OpenCode server%s connected'):format(
      state.path, running, servers, servers == 1 and '' or 's'))
    say(table.concat(lines, '\n'))
  end)
end

-- The status line's text: "" while the daemon is not reached, else the count of busy sessions
-- through statusline.format (a string.format pattern or a function of the count). The first call
-- connects, later than it returns.
function M.statusline()
  if not state.wanted then
    state.wanted = true
    vim.schedule(function()
      ready(function() end)
    end)
  end
  if state.count == nil then
    return ''
  end
  local fmt = config.statusline.format
  if type(fmt) == 'function' then
    return fmt(state.count)
  end
  return fmt:format(state.count)
end

-- The number of busy sessions, nil while the daemon is not reached.
function M.count()
  return state.count
end

-- The options setup() takes and their types (vim.validate's table form is deprecated in 0.11).
local OPTION_TYPES = { socket = 'string', keymap = 'string', statusline = 'table', outcome_timeout_ms = 'number' }

function M.setup(opts)
  opts = opts or {}
  for k, v in pairs(opts) do
    if OPTION_TYPES[k] == nil then
      error(('ocstop.setup: unknown option %s'):format(k), 2)
    elseif type(v) ~= OPTION_TYPES[k] then
      error(('ocstop.setup: %s must be a %s'):format(k, OPTION_TYPES[k]), 2)
    end
  end
  if opts.socket and opts.socket:sub(1, 1) ~= '/' then
    error('ocstop.setup: socket must be an absolute path', 2)
  end
  -- Neovim 0.7's libuv cuts a longer path short without an error, and would reach whatever listens
  -- at the shorter one, in a directory never checked.
  if opts.socket and #opts.socket > socket.MAX_PATH then
    error(('ocstop.setup: socket is too long for a Unix socket (at most %d bytes)'):format(socket.MAX_PATH), 2)
  end
  config.socket = opts.socket or config.socket
  if opts.statusline and opts.statusline.format then
    config.statusline.format = opts.statusline.format
  end
  config.outcome_timeout_ms = opts.outcome_timeout_ms or config.outcome_timeout_ms
  if opts.keymap then
    vim.keymap.set('n', opts.keymap, M.stop, { desc = "ocstop: stop the project's OpenCode sessions" })
  end
end

return M
