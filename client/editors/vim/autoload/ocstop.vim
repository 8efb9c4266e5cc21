" ocstop.vim's functions, loaded on the first :OcStop.

" Lines of one run's output kept: a status of hundreds of sessions is read
" with `ocstop status` in a terminal, not in the message area.
let s:max_lines = 100
" Parts of a stop's one-line message: more would take the screen's width.
let s:max_parts = 4
let s:verified = '^stopped .* in \d\+ ms (verified)$'

" The CLI and its arguments: g:ocstop_command (a program, or a list of a
" program and its first arguments), then -s g:ocstop_socket when set, else
" the CLI's own socket rule applies.
function! s:argv(args) abort
  let l:cmd = get(g:, 'ocstop_command', 'ocstop')
  let l:argv = type(l:cmd) == v:t_list ? copy(l:cmd) : [l:cmd]
  if get(g:, 'ocstop_socket', '') !=# ''
    call extend(l:argv, ['-s', g:ocstop_socket])
  endif
  return l:argv + a:args
endfunction

function! ocstop#stop(all, ids) abort
  call s:run(a:all ? ['abort', '--all'] : ['abort'] + a:ids, 'stop')
endfunction

function! ocstop#status() abort
  call s:run(['status'], 'status')
endfunction

function! s:error(msg) abort
  echohl ErrorMsg
  echomsg a:msg
  echohl None
endfunction

" Starts the CLI in Vim's current directory (the project, for a bare abort)
" and returns at once; the result is shown when the job has exited and its
" output is all read (exit_cb and close_cb may come in either order).
function! s:run(args, kind) abort
  let l:argv = s:argv(a:args)
  if empty(l:argv) || !executable(l:argv[0])
    call s:error(printf("ocstop: cannot run '%s' (set g:ocstop_command)", get(l:argv, 0, '')))
    return
  endif
  let l:cwd = getcwd()
  if !isdirectory(l:cwd)
    call s:error('ocstop: the current directory is gone: ' . l:cwd)
    return
  endif
  let l:st = {'kind': a:kind, 'lines': [], 'dropped': 0, 'exit': -1, 'closed': 0}
  try
    let l:job = job_start(l:argv, {'cwd': l:cwd, 'in_io': 'null',
          \ 'out_mode': 'nl', 'err_mode': 'nl',
          \ 'out_cb': function('s:on_line', [l:st]), 'err_cb': function('s:on_line', [l:st]),
          \ 'exit_cb': function('s:on_exit', [l:st]), 'close_cb': function('s:on_close', [l:st])})
  catch
    call s:error('ocstop: ' . v:exception)
    return
  endtry
  if job_status(l:job) ==# 'fail'
    call s:error(printf("ocstop: cannot start '%s'", l:argv[0]))
  endif
endfunction

function! s:on_line(st, ch, line) abort
  if len(a:st.lines) < s:max_lines
    call add(a:st.lines, a:line)
  else
    let a:st.dropped += 1
  endif
endfunction

function! s:on_exit(st, job, status) abort
  let a:st.exit = a:status
  call s:done(a:st)
endfunction

function! s:on_close(st, ch) abort
  let a:st.closed = 1
  call s:done(a:st)
endfunction

" A stop: its result in one line, the CLI's lines for each tree (the
" indented details left to `ocstop`), "ocstop: " once. A status: all of it.
function! s:done(st) abort
  if a:st.exit == -1 || !a:st.closed
    return
  endif
  let l:lines = filter(copy(a:st.lines), 'v:val !~# "^\\s*$"')
  if a:st.dropped > 0
    call add(l:lines, printf('(%d more lines: run ocstop %s)', a:st.dropped, a:st.kind))
  endif
  if a:st.kind ==# 'status' && a:st.exit == 0
    for l:line in l:lines
      echomsg l:line
    endfor
    return
  endif
  call filter(l:lines, 'v:val !~# "^\\s"')
  call map(l:lines, 'substitute(v:val, "^ocstop: ", "", "")')
  let l:lines = s:parts(l:lines)
  if a:st.exit != 0 && empty(l:lines)
    call add(l:lines, 'failed with exit status ' . a:st.exit)
  endif
  let l:msg = 'ocstop: ' . join(l:lines, '; ')
  if a:st.exit == 0
    echomsg l:msg
  else
    call s:error(l:msg)
  endif
endfunction

" Several verified stops read as one, with the slowest's time: "stopped 3
" sessions in 28 ms (verified)"; the other lines (not stopped, not found,
" errors) follow, s:max_parts in all.
function! s:parts(lines) abort
  let l:stopped = filter(copy(a:lines), 'v:val =~# s:verified')
  let l:parts = filter(copy(a:lines), 'v:val !~# s:verified')
  if len(l:stopped) > 1
    let l:ms = max(map(l:stopped, 'str2nr(matchstr(v:val, " in \\zs\\d\\+\\ze ms (verified)$"))'))
    call insert(l:parts, printf('stopped %d sessions in %d ms (verified)', len(l:stopped), l:ms))
  elseif len(l:stopped) == 1
    call insert(l:parts, l:stopped[0])
  endif
  if len(l:parts) > s:max_parts
    let l:more = len(l:parts) - s:max_parts + 1
    let l:parts = l:parts[: s:max_parts - 2] + [printf('and %d more', l:more)]
  endif
  return l:parts
endfunction
