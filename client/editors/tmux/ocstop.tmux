# ocstop.tmux: stop OpenCode sessions from tmux (3.2 or later). In ~/.tmux.conf:
#   source-file /usr/share/ocstop/editors/tmux/ocstop.tmux
#   prefix X     stop the running sessions of the current pane's directory's project
#   prefix M-x   stop every running session
# The result shows on the status line. The CLI is `ocstop` on the tmux server's PATH, or
# $OCSTOP_CLI in its environment (set-environment -g OCSTOP_CLI /path/to/ocstop). Another key:
#   bind-key C-s run-shell -b 'set -- abort --all; #{E:@ocstop-run}'

# @ocstop-run: run the CLI with the shell's arguments, in the background, and show its result
# in one line: the line of each stopped tree, or the error, "ocstop: " once. display-message
# expands formats and strftime: every # and % of the text is doubled (35 is #: no # may stand
# here, as tmux would expand it when the binding runs).
set-option -g @ocstop-run 'r=$("${OCSTOP_CLI:-ocstop}" "$@" 2>&1); rc=$?; m=$(printf "%s\n" "$r" | awk -v rc=$rc "/^[^ \t]/ { sub(/^ocstop: /, \"\"); gsub(sprintf(\"%c\", 35), \"&&\"); gsub(/%/, \"&&\"); s = s (n++ ? \"; \" : \"\") \$0 } END { if (s == \"\" && rc != 0) s = \"failed with exit status \" rc; print s }"); tmux display-message -c #{q:client_name} -d 5000 -- "ocstop: $m"'

# The pane's directory is read by the job itself: a name may hold a newline, which #{q:} leaves as
# it is, and the shell would run what follows it as a command. The "." keeps a trailing newline.
bind-key -T prefix X run-shell -b 'd=$(tmux display-message -p -t #{q:pane_id} "##{pane_current_path}" && echo .) || exit 1; set -- abort --dir "${d%?.}"; #{E:@ocstop-run}'
bind-key -T prefix M-x run-shell -b 'set -- abort --all; #{E:@ocstop-run}'
