# shellcheck shell=bash
# ocstop.sh: stop OpenCode sessions from bash or zsh. In ~/.bashrc or ~/.zshrc:
#   source /usr/share/ocstop/editors/shell/ocstop.sh
#   x              stop the running sessions of this directory's project
#   x --all        stop every running session; x ID... those sessions' trees
# `x` is `ocstop abort`, defined only when no alias, function or command has that name;
# `ocstop_x` is always there. A key that does the same without losing the line being typed:
# set OCSTOP_KEY before sourcing, in the shell's own notation (Alt-x: '\ex' in bash, '^[x' in
# zsh). The CLI is `ocstop` on PATH, or $OCSTOP_CLI.

ocstop_x() { command "${OCSTOP_CLI:-ocstop}" abort "$@" </dev/null; }

# `function NAME` is never alias-expanded, whatever aliases the shell has.
if ! type x >/dev/null 2>&1; then
  function x { ocstop_x "$@"; }
fi

# The key waits for the CLI (its own timeouts bound the wait; Ctrl-C ends it) and prints the result
# above the line, which it leaves as it was.
case $- in
  *i*)
    if [ -z "${OCSTOP_KEY-}" ]; then
      :
    elif [ -n "${BASH_VERSION-}" ]; then
      bind -x "\"$OCSTOP_KEY\": ocstop_x"
    elif [ -n "${ZSH_VERSION-}" ]; then
      function _ocstop_x_widget { zle -I; ocstop_x; }
      zle -N _ocstop_x_widget
      bindkey "$OCSTOP_KEY" _ocstop_x_widget
    fi
    ;;
esac
