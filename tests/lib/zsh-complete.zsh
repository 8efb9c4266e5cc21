#!/bin/zsh -f
# zsh-complete.zsh FPATH-DIR OUT LINE — what zsh's completion system offers for the end of LINE,
# typed into an interactive zsh (in a pseudo-terminal) with only FPATH-DIR's completions added:
# every match it adds is appended to OUT, one per line. Exits 1 when the completion does not end
# within 10 s.
zmodload zsh/zpty || exit 1
typeset -F SECONDS
dir=$1 out=$2 line=$3
: >$out
rm -f $out.done

zpty z zsh -f -i || exit 1
# Each compadd call's matches (what the word typed so far selects) go to OUT; the calls that only
# compute (-O, -A, -D) are left alone. Tab completes, then says it is over in OUT.done.
zpty -w z "fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "compadd() { if (( \${argv[(I)-[OAD]*]} )); then builtin compadd \"\$@\"; return; fi;" \
  "local -a m; builtin compadd -O m \"\$@\"; print -rl -- \$m >>${(q)out}; builtin compadd \"\$@\"; }"
zpty -w z "zle -C zc-complete complete-word _main_complete;" \
  "zc-tab() { zle zc-complete; : >${(q)out}.done; }; zle -N zc-tab; bindkey '^I' zc-tab"
zpty -w -n z "$line"$'\t'
float end=$(( SECONDS + 10 ))
while (( SECONDS < end )); do
  zpty -rt z got
  if [[ -e $out.done ]]; then
    zpty -d z
    exit 0
  fi
  sleep 0.05
done
zpty -d z
exit 1
