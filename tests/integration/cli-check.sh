#!/bin/bash
# cli-check.sh — `ocstop check TEXT` says whether the daemon takes TEXT for a stop word and does
# nothing else; `ocstop status` says its counters and the stop words in force in words.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 16
tmp_dir_new T
export XDG_CONFIG_HOME=$T/config
ocstopd_start "$T" --stop-word x --stop-word Стоп || tap_bail "ocstopd did not start"

tap_run "check of a stop word: exit 0" 0 ocstop check " X "
tap_eq "it says so, naming the word" 'stop: " X " is a stop word (x)' "$OUT"
tap_run "check of another script's stop word, case-folded: exit 0" 0 ocstop check "СТОП"
tap_eq "it names the word as compared" 'stop: "СТОП" is a stop word (стоп)' "$OUT"
tap_run "check of a text that is none: exit 5" 5 ocstop check hello
tap_eq "it says so" 'pass: "hello" is not a stop word' "$OUT"
tap_run "check -j: exit 0" 0 ocstop -j check x
tap_ok "-j gives the daemon's answer" \
  jq -e '.stop == true and .word == "x" and .if_running == "abort" and .if_idle == "clear"' <<<"$OUT"
tap_run "check -q of a text that is none: exit 5, nothing said" 5 ocstop -q check "x!"
tap_eq "-q prints nothing" "" "$OUT"
tap_run "check with no TEXT is a usage error" 1 ocstop check
tap_run "check of a control character shows it safely" 5 ocstop check $'\e[2J'
tap_eq "the escape is not printed" 'pass: "?[2J" is not a stop word' "$OUT"
# Nothing was counted or stopped by the checks.
tap_ok "no verdict was counted, nothing stopped" \
  jq -e '.counters | .verdicts_pass == 0 and .verdicts_clear == 0 and .verdicts_abort == 0 and .aborts == 0' \
  <<<"$(ocstop -j status)"
tap_run "status: exit 0" 0 ocstop status
tap_ok "status says its counters in words, and the stop words" bash -c '
  grep -Eq "^stops: +0 session trees aborted, 0 proven stopped, 0 not proven stopped$" <<<"$1" &&
  grep -Eq "^messages: +0 passed to the model, " <<<"$1" &&
  grep -Eq "^stop words: x, стоп$" <<<"$1" && ! grep -q verdicts_pass <<<"$1"' bash "$OUT"
tap_done
