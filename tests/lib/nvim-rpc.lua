-- Neovim's own msgpack-rpc against the daemon, without the plugin, for
-- tests/integration/rpc-clients.sh. Run as
--   OCSTOP_SOCKET=... SID=... OUT=... nvim --headless -u NONE -i NONE -c 'luafile nvim-rpc.lua'
-- It writes what it saw to OUT as JSON and quits: ping with Lua {}, an error's text in Lua
-- (pcall) and in Vimscript (v:exception), subscribe with nvim = {function = ...} on one channel
-- and with a function that does not exist on another, then abort SID by rpcnotify and wait (at
-- most WAIT_MS) for the stop event the Vim function was called with.
local WAIT_MS = tonumber(os.getenv('WAIT_MS') or '') or 30000
local sock, sid, out = os.getenv('OCSTOP_SOCKET'), os.getenv('SID'), os.getenv('OUT')
local r = {}

local function finish()
  local f = assert(io.open(out, 'w'))
  f:write(vim.fn.json_encode(r))
  f:close()
  vim.cmd('qa!')
end

local ok, err = pcall(function()
  local ch = vim.fn.sockconnect('pipe', sock, { rpc = true })
  -- {} is sent as [[]]; {session = nil} too.
  r.ping = vim.rpcrequest(ch, 'ping', {})
  local _, e = pcall(vim.rpcrequest, ch, 'abort', { session = nil })
  r.lua_no_options = e
  _, e = pcall(vim.rpcrequest, ch, 'abort', { session = 'ses_zzzNobodyHasThis' })
  r.lua_error = e
  vim.cmd([[
    function! OcstopTryAbort(ch) abort
      try
        call rpcrequest(a:ch, 'abort', {'session': 'ses_zzzNobodyHasThis'})
      catch
        return v:exception
      endtry
      return ''
    endfunction
    let g:ocstop_events = []
    function! OcstopEvent(ev) abort
      call add(g:ocstop_events, a:ev)
    endfunction
  ]])
  r.vim_error = vim.fn.OcstopTryAbort(ch)
  vim.rpcrequest(ch, 'subscribe', { events = { 'stop' }, nvim = { ['function'] = 'OcstopEvent' } })
  -- Neovim answers each event of this one with nvim_error_event (E117).
  local ch2 = vim.fn.sockconnect('pipe', sock, { rpc = true })
  vim.rpcrequest(ch2, 'subscribe', { events = { 'stop' }, nvim = { ['function'] = 'OcstopNoSuchFunction' } })
  local sent = vim.loop.hrtime()
  vim.rpcnotify(ch, 'abort', { session = sid })
  r.stopped = vim.wait(WAIT_MS, function()
    for _, ev in ipairs(vim.g.ocstop_events) do
      if ev.stop.session == sid and ev.stop.stopped then
        return true
      end
    end
    return false
  end, 10)
  -- From the rpcnotify to the stop event seen (within the 10 ms of a poll).
  r.event_ms = math.floor((vim.loop.hrtime() - sent) / 1e6)
  r.events = vim.g.ocstop_events
end)
if not ok then
  r.failed = tostring(err)
end
finish()
