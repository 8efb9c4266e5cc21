" ocstop.vim — stop OpenCode sessions from Vim through the ocstop CLI.
" :OcStop        stop the running sessions of Vim's current directory's project
" :OcStop!       stop every running session
" :OcStop ID...  stop those sessions' trees
" :OcStopStatus  what the daemon knows
" The CLI runs as a job: Vim never waits for the stop's proof.
" Neovim has its own client (client/nvim/), which speaks to the daemon itself.
if exists('g:loaded_ocstop') || has('nvim') || !has('job')
  finish
endif
let g:loaded_ocstop = 1

command! -bang -nargs=* OcStop call ocstop#stop(<bang>0, [<f-args>])
command! -nargs=0 OcStopStatus call ocstop#status()

nnoremap <silent> <Plug>(ocstop) :<C-u>OcStop<CR>
nnoremap <silent> <Plug>(ocstop-all) :<C-u>OcStop!<CR>
" No key unless asked for: let g:ocstop_map = '<Leader>x'
if get(g:, 'ocstop_map', '') !=# ''
  execute 'nmap' g:ocstop_map '<Plug>(ocstop)'
endif
