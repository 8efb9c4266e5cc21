" editor-drive.vim — run one Ex command in Vim (-es), wait for its message,
" and write what was seen (tests/integration/editor-vim.sh).
"   OCSTOP_EX     the command, e.g. OcStop
"   OCSTOP_WAIT   a pattern the messages must come to match (default ^ocstop)
"   OUTFILE       gets "cmd_ms N" (the command's own time), "ms N" (to the
"                 message, or "timeout"), then the messages
let s:wait = empty($OCSTOP_WAIT) ? '\(^\|\n\)ocstop' : $OCSTOP_WAIT
let s:t0 = reltime()
execute $OCSTOP_EX
let s:cmd_ms = float2nr(reltimefloat(reltime(s:t0)) * 1000)
" Callbacks run while Vim waits: 30 s in steps of 10 ms.
let s:n = 0
while execute('messages') !~# s:wait && s:n < 3000
  sleep 10m
  let s:n += 1
endwhile
let s:ms = s:n < 3000 ? float2nr(reltimefloat(reltime(s:t0)) * 1000) : 'timeout'
call writefile(['cmd_ms ' . s:cmd_ms, 'ms ' . s:ms] + split(execute('messages'), "\n"), $OUTFILE)
qa!
