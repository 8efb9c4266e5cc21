# fish completion for ocstopd(8).

complete -c ocstopd -f
complete -c ocstopd -s h -l help -d 'show the usage'
complete -c ocstopd -s V -l version -d 'print the version'
complete -c ocstopd -s n -l check-config -d 'check the configuration and exit'
complete -c ocstopd -s v -l verbose -d 'debug logging'
complete -c ocstopd -s s -l socket -r -F -d 'listen here'
complete -c ocstopd -s c -l config -r -F -d 'the configuration file'
complete -c ocstopd -l opencode -x -d 'an OpenCode server to watch (URL)'
complete -c ocstopd -l no-default-server -d 'do not watch http://127.0.0.1:4096'
complete -c ocstopd -l stop-word -x -d 'a message that stops the agent'
complete -c ocstopd -l quiet-ms -x -d 'the quiet window that proves a stop'
complete -c ocstopd -l stop-timeout-ms -x -d 'how long to wait for proof before retrying'
complete -c ocstopd -l password-file -r -F -d 'OpenCode server password file'
complete -c ocstopd -l log -r -F -d 'append the log to this file'
complete -c ocstopd -l idle-exit -x -d 'exit after this long idle, when socket-activated'
