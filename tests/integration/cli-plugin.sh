#!/bin/bash
# cli-plugin.sh — `ocstop install-plugin [--project]` and `uninstall-plugin` in a home of the test's:
# the link made (and the folders), idempotent, nothing of another's replaced or removed, no link or
# folder of another user followed, the shim missing said clearly, and other copies of the shim that
# OpenCode would load warned of. No daemon is needed.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 48
tmp_dir_new T
SHIM=$OCSTOP_SRCDIR/client/opencode-plugin/ocstop.js
export HOME=$T/home OCSTOP_SHIM=$SHIM
unset XDG_CONFIG_HOME OPENCODE_CONFIG_DIR
mkdir -p "$HOME" "$T/proj/.git" "$T/proj/sub"
G=$HOME/.config/opencode/plugins
P=$T/proj/sub/.opencode/plugins
# link_is PATH — PATH is a link to the shim.
link_is() { [ -L "$1" ] && [ "$(readlink "$1")" = "$SHIM" ]; }

# The global folder, made from nothing.
tap_run "install-plugin in a fresh home: exit 0" 0 in_dir "$T/proj/sub" ocstop install-plugin
tap_ok "it linked $G/ocstop.js to the shim" link_is "$G/ocstop.js"
tap_contains "it says what it made" "made $HOME/.config" "$OUT"
tap_contains "it says what it linked" "installed $G/ocstop.js -> $SHIM" "$OUT"
tap_eq "and warns of nothing" "" "$ERR"
tap_run "install-plugin again: exit 0" 0 in_dir "$T/proj/sub" ocstop install-plugin
tap_eq "it says it is already installed" "already installed: $G/ocstop.js -> $SHIM" "$OUT"
tap_run "install-plugin -q: exit 0, says nothing" 0 ocstop -q install-plugin
tap_eq "-q prints nothing" "" "$OUT"

# XDG_CONFIG_HOME is where OpenCode looks when it is set.
mkdir -p "$T/xdg"
tap_run "install-plugin with XDG_CONFIG_HOME: exit 0" 0 env XDG_CONFIG_HOME="$T/xdg" "$OCSTOP_BIN" install-plugin
tap_ok "it linked there" link_is "$T/xdg/opencode/plugins/ocstop.js"
tap_run "uninstall-plugin with XDG_CONFIG_HOME: exit 0" 0 env XDG_CONFIG_HOME="$T/xdg" "$OCSTOP_BIN" uninstall-plugin
tap_ok "the link there is gone" not test -e "$T/xdg/opencode/plugins/ocstop.js" -o -L "$T/xdg/opencode/plugins/ocstop.js"

# The project's folder, with the global link there: two shims would answer.
tap_run "install-plugin --project: exit 0" 0 in_dir "$T/proj/sub" ocstop install-plugin --project
tap_ok "it linked $P/ocstop.js" link_is "$P/ocstop.js"
tap_contains "it warns that the global link is loaded too" \
  "also loads a copy of the shim from $G/ocstop.js" "$ERR"

# Uninstall removes its own link only.
tap_run "uninstall-plugin: exit 0" 0 in_dir "$T/proj/sub" ocstop uninstall-plugin
tap_ok "the global link is gone" not test -L "$G/ocstop.js"
tap_contains "it says what it removed" "removed $G/ocstop.js" "$OUT"
tap_contains "it warns of the project's link, still loaded" "copy of the shim from $P/ocstop.js" "$ERR"
tap_run "uninstall-plugin again: exit 0" 0 ocstop uninstall-plugin
tap_eq "it says not installed" "not installed: there is no $G/ocstop.js" "$OUT"
tap_run "uninstall-plugin --project: exit 0" 0 in_dir "$T/proj/sub" ocstop uninstall-plugin --project
tap_ok "the project's link is gone, its folder kept" bash -c '! test -L "$1/ocstop.js" && test -d "$1"' bash "$P"

# What ocstop did not make stays: an old copy, a link elsewhere.
cp "$SHIM" "$G/ocstop.js"
tap_run "install-plugin over a copied shim: exit 1" 1 ocstop install-plugin
tap_contains "it says why and how to go on" "is a file ocstop did not make (a copy of the shim?): not replacing it; remove it (rm '$G/ocstop.js')" "$ERR"
tap_run "uninstall-plugin leaves a copied shim: exit 1" 1 ocstop uninstall-plugin
tap_ok "the copy is still there" cmp -s "$SHIM" "$G/ocstop.js"
rm "$G/ocstop.js"; ln -s /etc/hostname "$G/ocstop.js"
tap_run "install-plugin over a link elsewhere: exit 1" 1 ocstop install-plugin
tap_ok "the link elsewhere is kept, and named" bash -c \
  '[ "$(readlink "$1")" = /etc/hostname ] && grep -q "is a link to /etc/hostname, which ocstop did not make" <<<"$2"' \
  bash "$G/ocstop.js" "$ERR"
rm "$G/ocstop.js"

# A copy under another name in OpenCode's other folders: ~/.opencode/plugin/, $OPENCODE_CONFIG_DIR.
mkdir -p "$HOME/.opencode/plugin" "$T/ocd/plugins"
cp "$SHIM" "$HOME/.opencode/plugin/stopper.js"
ln -s "$SHIM" "$T/ocd/plugins/any.ts"
tap_run "install-plugin with copies elsewhere: exit 0" 0 env OPENCODE_CONFIG_DIR="$T/ocd" "$OCSTOP_BIN" install-plugin
tap_ok "it warns of both" bash -c 'grep -q "from $1/.opencode/plugin/stopper.js" <<<"$3" && grep -q "from $2/ocd/plugins/any.ts" <<<"$3"' \
  bash "$HOME" "$T" "$ERR"
rm -r "$HOME/.opencode" "$T/ocd"; ocstop -q uninstall-plugin

# A folder on the way that every user may write to is not used: anyone could swap the shim.
mkdir -p "$T/proj/open/.opencode"; chmod 777 "$T/proj/open/.opencode"
tap_run "install-plugin --project under a folder writable by all: exit 1" 1 in_dir "$T/proj/open" ocstop install-plugin --project
tap_ok "it says so, with the fix, and made nothing there" bash -c \
  'grep -qF "is writable by every user: not using it; make it not writable by others (chmod o-w '\''$1'\'')" <<<"$2" && ! test -e "$1/plugins"' \
  bash "$T/proj/open/.opencode" "$ERR"

# Paths are anyone's to name (a parent's .opencode may be another user's): shown without control
# characters, and no shell command is made of one that has a quote or a control character.
mkdir -p "$HOME/.opencode/plugin"
cp "$SHIM" "$HOME/.opencode/plugin/x'"$'\e[31m.js'
tap_run "install-plugin with a copy named with a quote and ESC: exit 0" 0 ocstop install-plugin
tap_contains "it names the copy safely and says to remove it" \
  "copy of the shim from $HOME/.opencode/plugin/x'?[31m.js: two shims would both answer an x; remove it" "$ERR"
tap_ok "with no control character and no shell command" bash -c '! grep -q -e "[[:cntrl:]]" -e "rm '\''" <<<"$1"' bash "$ERR"
rm -r "$HOME/.opencode"; ocstop -q uninstall-plugin
ln -s "$T/gone"$'\e[2J' "$G/ocstop.js"
tap_run "install-plugin over a link to a name with ESC: exit 1" 1 ocstop install-plugin
tap_ok "it names the link's target safely" bash -c '! grep -q "[[:cntrl:]]" <<<"$2" && grep -qF "is a link to $1?[2J, which" <<<"$2"' \
  bash "$T/gone" "$ERR"
rm "$G/ocstop.js"
Q="$T/it's"; mkdir -p "$Q/.config/opencode/plugins"; cp "$SHIM" "$Q/.config/opencode/plugins/ocstop.js"
tap_run "install-plugin over a copy in a folder named with a quote: exit 1" 1 env HOME="$Q" "$OCSTOP_BIN" install-plugin
tap_ok "it says to remove it, with no shell command" bash -c \
  'grep -qF "$1/.config/opencode/plugins/ocstop.js is a file ocstop did not make (a copy of the shim?): not replacing it; remove it and run this again" <<<"$2" && ! grep -q "rm '\''" <<<"$2"' \
  bash "$Q" "$ERR"

# A FIFO or a device in a folder scanned (a parent's .opencode may be another user's) is never opened:
# opening a FIFO would hang the CLI, or let a writer blocked on it go on. A writer waits on one.
mkdir -p "$HOME/.opencode/plugin"
mkfifo "$HOME/.opencode/plugin/ocstop.js"; ln -s ocstop.js "$HOME/.opencode/plugin/pipe.js"
bash -c 'exec 3>"$1"; echo opened >"$2"' bash "$HOME/.opencode/plugin/ocstop.js" "$T/writer-went-on" &
WRITER=$!; oc_track "$WRITER"
tap_run "install-plugin with a FIFO in a scanned folder: exit 0, in time" 0 timeout 10 "$OCSTOP_BIN" install-plugin
sleep 0.5
tap_ok "the FIFO was not opened: its writer still waits" bash -c '! test -e "$1" && kill -0 "$2"' bash "$T/writer-went-on" "$WRITER"
kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null
rm -r "$HOME/.opencode"; ocstop -q uninstall-plugin

# The shim missing is said clearly.
tap_run "install-plugin with no shim there: exit 1" 1 env OCSTOP_SHIM="$T/none.js" "$OCSTOP_BIN" install-plugin
tap_contains "it names the path and the fix" "the plugin shim is not at $T/none.js (No such file or directory): reinstall ocstop" "$ERR"

# Another user's link or folder on the way is never followed (needs root to make one).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  mkdir -p "$T/elsewhere"
  ln -s "$T/elsewhere" "$T/proj/.opencode" && chown -h nobody "$T/proj/.opencode"
  tap_run "install-plugin --project through another user's link: exit 1" 1 in_dir "$T/proj" ocstop install-plugin --project
  tap_ok "it says so and made nothing there" bash -c 'grep -q "is a link of another user.s" <<<"$2" && ! test -e "$1/plugins"' \
    bash "$T/elsewhere" "$ERR"
  rm "$T/proj/.opencode"; mkdir "$T/proj/.opencode"; chown nobody "$T/proj/.opencode"
  tap_run "install-plugin --project in another user's folder: exit 1" 1 in_dir "$T/proj" ocstop install-plugin --project
else
  tap_skip "install-plugin --project through another user's link" "not root"
  tap_skip "it says so and made nothing there" "not root"
  tap_skip "install-plugin --project in another user's folder" "not root"
fi
tap_done
