# fish completion for ocstop(1).

set -l commands abort status monitor ping check doctor install-plugin uninstall-plugin

# The ids of the sessions that run, from `ocstop -j status` on the socket the command line names:
# a session's keys come in this order (proto/wire.c) and a quote inside a string is escaped, so a
# title cannot fake one. Asked of the daemon for at most a second; a daemon that is down, slow or
# odd gives nothing, and never a word on the terminal. Always the ocstop on PATH, never the program
# as typed: ./ocstop would run a file of the current directory, which may be anyone's.
function __ocstop_running
    set -l tokens (commandline -opc)
    set -l query ocstop
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case -s --socket
                set i (math $i + 1)
                set -q tokens[$i]; and set query $query -s $tokens[$i]
            case '--socket=*'
                set query $query -s (string replace -- --socket= '' $tokens[$i])
            case '-s?*'
                set query $query -s (string sub -s 3 -- $tokens[$i])
        end
        set i (math $i + 1)
    end
    set -l re '"id":"[A-Za-z0-9_-]+","server":(null|"([^"\\\\]|\\\\.)*"),"directory":(null|"([^"\\\\]|\\\\.)*"),"parent":(null|"([^"\\\\]|\\\\.)*"),"status":"(busy|retry)"'
    timeout -k 1 1 $query -j status 2>/dev/null </dev/null |
        grep -oE $re 2>/dev/null | sed 's/^"id":"\([^"]*\)".*/\1/'
end

complete -c ocstop -f
complete -c ocstop -s s -l socket -r -F -d "the daemon's socket"
complete -c ocstop -s j -l json -d 'print replies as JSON'
complete -c ocstop -s q -l quiet -d 'print nothing but errors'
complete -c ocstop -s h -l help -d 'show the help'
complete -c ocstop -s V -l version -d 'show the version'

set -l none "not __fish_seen_subcommand_from $commands"
complete -c ocstop -n $none -a abort -d 'stop sessions, verified'
complete -c ocstop -n $none -a status -d 'servers and sessions the daemon knows'
complete -c ocstop -n $none -a monitor -d 'print events as they come'
complete -c ocstop -n $none -a ping -d 'check that the daemon answers'
complete -c ocstop -n $none -a check -d 'is a text a stop word?'
complete -c ocstop -n $none -a doctor -d 'what keeps a stop from working'
complete -c ocstop -n $none -a install-plugin -d 'make OpenCode load the shim'
complete -c ocstop -n $none -a uninstall-plugin -d 'remove the shim link'

# abort is also what ocstop does with no command: its options go before one too.
set -l abort "$none; or __fish_seen_subcommand_from abort"
complete -c ocstop -n $abort -l dir -x -a '(__fish_complete_directories)' -d 'the sessions in this directory or below'
complete -c ocstop -n $abort -l all -d 'every running session'
complete -c ocstop -n $abort -l no-wait -d 'return once the aborts are sent'
complete -c ocstop -n $abort -l timeout -x -d 'how long to wait for the stop (ms)'
complete -c ocstop -n $abort -l force -d "end a stalled stop's tools"
complete -c ocstop -n '__fish_seen_subcommand_from abort' -a '(__ocstop_running)' -d 'running session'
complete -c ocstop -n '__fish_seen_subcommand_from status' -l limit -x -d 'list at most N sessions'
complete -c ocstop -n '__fish_seen_subcommand_from doctor' -l json -d 'the findings as JSON'
complete -c ocstop -n '__fish_seen_subcommand_from install-plugin uninstall-plugin' -l project -d "the project's .opencode/plugins/"
