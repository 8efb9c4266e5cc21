# bash completion for ocstop(1) and ocstopd(8). Installed as bash-completion/completions/ocstop,
# with ocstopd a link to it: bash-completion loads a command's file by the command's name.

# A running session in `ocstop -j status`: the keys of a session come in this order (proto/wire.c),
# and a quote inside a string is escaped, so a title cannot fake one.
_ocstop_running_re='"id":"[A-Za-z0-9_-]+","server":(null|"([^"\\]|\\.)*"),"directory":(null|"([^"\\]|\\.)*"),"parent":(null|"([^"\\]|\\.)*"),"status":"(busy|retry)"'

# _ocstop_running [-s SOCKET] — the ids of the sessions that run, one per line. Asked of the daemon
# for at most a second; a daemon that is down, slow or odd gives nothing, and never a word on the
# terminal. Always the ocstop on PATH, never the program as typed: ./ocstop would run a file of the
# current directory, which may be anyone's.
_ocstop_running() {
  timeout -k 1 1 ocstop "$@" -j status 2>/dev/null </dev/null |
    grep -oE "$_ocstop_running_re" 2>/dev/null | sed 's/^"id":"\([^"]*\)".*/\1/'
}

# _ocstop_cur_prev — sets the caller's cur (the word completed) and prev (the word before it).
# COMP_WORDBREAKS splits --socket=PATH into "--socket", "=", "PATH": prev is then "--socket".
_ocstop_cur_prev() {
  cur=${COMP_WORDS[COMP_CWORD]} prev=''
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  if [ "$cur" = "=" ]; then
    cur=''
  elif [ "$prev" = "=" ] && ((COMP_CWORD > 1)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
}

_ocstop() {
  local cur prev cmd='' i w
  local -a sock=()
  COMPREPLY=()
  _ocstop_cur_prev

  # The command (the first word that is neither an option nor an option's argument), and the
  # socket the line names.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      -s | --socket)
        sock=(-s "${COMP_WORDS[i + 1]-}")
        [ "${COMP_WORDS[i + 1]-}" = "=" ] && sock=(-s "${COMP_WORDS[i + 2]-}") && ((i++))
        ((i++))
        ;;
      -s?*) sock=(-s "${w#-s}") ;;
      --dir | --timeout | --limit)
        [ "${COMP_WORDS[i + 1]-}" = "=" ] && ((i++))
        ((i++))
        ;;
      -*) ;;
      *) [ -n "$cmd" ] || cmd=$w ;;
    esac
  done

  case $prev in
    -s | --socket)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0
      ;;
    --dir)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return 0
      ;;
    --timeout | --limit) return 0 ;;
  esac

  local opts='-s --socket -j --json -q --quiet -h --help -V --version'
  case $cmd in
    '' | abort) opts+=' --dir --all --no-wait --timeout --force' ;;
    status) opts+=' --limit' ;;
    install-plugin | uninstall-plugin) opts+=' --project' ;;
  esac
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return 0
  fi

  case $cmd in
    '')
      mapfile -t COMPREPLY < <(compgen -W 'abort status monitor ping check doctor install-plugin
        uninstall-plugin' -- "$cur")
      ;;
    abort)
      mapfile -t COMPREPLY < <(compgen -W "$(_ocstop_running "${sock[@]}")" -- "$cur")
      ;;
  esac
  return 0
}

_ocstopd() {
  local cur prev
  COMPREPLY=()
  _ocstop_cur_prev
  case $prev in
    -s | --socket | -c | --config | --password-file | --log)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return 0
      ;;
    --opencode | --stop-word | --quiet-ms | --stop-timeout-ms | --idle-exit) return 0 ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W '-h --help -V --version -n --check-config -v --verbose
    -s --socket -c --config --opencode --no-default-server --stop-word --quiet-ms
    --stop-timeout-ms --password-file --log --idle-exit' -- "$cur")
  return 0
}

complete -F _ocstop ocstop
complete -F _ocstopd ocstopd
