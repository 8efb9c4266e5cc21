-- The one line said when an abort's outcome is known, from its stops (the protocol's stop objects,
-- one per tree) as their final events gave them.
local M = {}

-- A text from the daemon (a title, a reason), as the CLI shows it: control characters and C1's
-- become '?', so that none breaks a line of the message area or reaches the terminal.
function M.safe(text)
  return (text:gsub('[%c\127]', '?'):gsub('\194[\128-\159]', '??'))
end

local function plural(n, word)
  return ('%d %s%s'):format(n, word, n == 1 and '' or 's')
end

-- stops: the final stop of each tree; missing: the roots whose outcome never came, with why.
-- Returns the text and whether every tree was proven stopped.
function M.summary(stops, missing, why_missing)
  local sessions, ms, parts, all = 0, -1, {}, true
  for _, s in ipairs(stops) do
    if s.stopped then
      sessions = sessions + 1 + #(s.children or {})
      if type(s.ms) == 'number' and s.ms > ms then
        ms = s.ms
      end
    end
  end
  if sessions > 0 then
    parts[#parts + 1] = ('stopped %s%s (verified)'):format(plural(sessions, 'session'),
      ms >= 0 and (' in %d ms'):format(ms) or '')
  end
  for _, s in ipairs(stops) do
    if not s.stopped then
      all = false
      local reason = s.reason
      if type(reason) ~= 'string' then
        reason = 'not verified'
      end
      parts[#parts + 1] = ('NOT stopped %s: %s'):format(s.session, M.safe(reason))
    end
  end
  if missing and #missing > 0 then
    all = false
    parts[#parts + 1] = ('no outcome for %s: %s'):format(table.concat(missing, ', '), why_missing)
  end
  if #parts == 0 then
    return 'ocstop: nothing to stop', true
  end
  return 'ocstop: ' .. table.concat(parts, '; '), all
end

-- A daemon error as Neovim gives it ("name: message", maybe behind "Vim:" and Neovim's own
-- sentence) in the CLI's form: "ocstop: message (name)".
function M.error(text)
  text = tostring(text):gsub('^Vim:', ''):gsub("^Error invoking '[^']*' on channel %d+:\n", '')
  text = M.safe(text)
  local name, rest = text:match('^([a-z_]+): (.*)$')
  if name then
    return ('ocstop: %s (%s)'):format(rest, name)
  end
  return 'ocstop: ' .. text
end

return M
