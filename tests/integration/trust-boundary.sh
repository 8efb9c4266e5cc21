#!/bin/bash
# trust-boundary.sh — another local user cannot stand in for ocstopd, and passwords stay out of
# sight. A user without XDG_RUNTIME_DIR (the victim) finds /tmp/ocstop-$UID squatted by uid 65534
# with a listener that answers like a daemon: the CLI and the daemon refuse it, and the squatter
# gets not a byte. Socket directories open to others are refused and never re-moded; a listener of
# another uid in a private directory is caught by SO_PEERCRED; a URL with a password, a readable
# password file and a password over 1024 bytes are refused. Needs root (it plays three users).
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 44
[ "$(id -u)" = 0 ] || tap_bail "needs root, to act as other users"
SQUAT=65534
tmp_dir_new T
chmod 0711 "$T"
# The victim: a uid of no one, so that its /tmp/ocstop-$UID is this test's alone.
V=4242
while getent passwd "$V" >/dev/null || [ -e "/tmp/ocstop-$V" ]; do V=$((V + 1)); done
FB=/tmp/ocstop-$V
oc_at_exit "rm -rf '$FB'"
# Whatever ran as the squatter or the victim for this test goes with it, even after a bail-out.
oc_at_exit "pkill -TERM -u 65534 -f -- '$T/'; pkill -TERM -u $V -f -- '$T/'"
# Binaries the other users can run wherever the build tree is.
mkdir -m 0755 "$T/bin"
cp "$OCSTOPD_BIN" "$OCSTOP_BIN" "$T/bin/"
as() {
  local uid=$1; shift
  setpriv --reuid="$uid" --regid="$uid" --clear-groups \
    env -u XDG_RUNTIME_DIR -u OCSTOP_SOCKET -u OPENCODE_SERVER_PASSWORD XDG_CONFIG_HOME="$T/none" "$@"
}
victim() { as "$V" "$@"; }
# stop_bg PID — stop a process started with `as ... &`: $! is the subshell, the command its child.
stop_bg() { pkill -TERM -P "$1" 2>/dev/null; kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
# squatter_start UID SOCKET LOG [DROP_TO] — the squatter as UID; LOG gets every byte it is sent.
squatter_start() {
  local uid=$1 sock=$2 log=$3; shift 3
  : >"$log"; chown "$uid" "$log"
  as "$uid" python3 - "$sock" "$log" "$@" <"$OCSTOP_SRCDIR/tests/lib/squatter.py" >"$log.out" 2>&1 &
  SQ_PID=$!; oc_track $SQ_PID
  wait_until 30 grep -q listening "$log.out"
}
bytes_of() { stat -c %s "$1"; }
# A daemon that should refuse to start runs under `timeout 10`: one that starts instead is stopped
# and fails its case with 124.

# 1. The squatted fallback directory.
as $SQUAT mkdir -m 0755 "$FB"
tap_ok "uid $SQUAT squats $FB with a listener" squatter_start $SQUAT "$FB/ocstop.sock" "$T/sq.log"
WHY="refusing to use $FB/ocstop.sock: its directory $FB is owned by another user (owner uid $SQUAT, mode 0755)"
tap_run "ocstop abort --all refuses it" 1 victim "$T/bin/ocstop" abort --all
tap_contains "... saying whose it is" "$WHY" "$ERR"
tap_eq "... and prints nothing on stdout" "" "$OUT"
tap_run "ocstop status refuses it" 1 victim "$T/bin/ocstop" status
tap_contains "... saying whose it is" "$WHY" "$ERR"
tap_run "ocstop ping refuses it" 1 victim "$T/bin/ocstop" ping
tap_contains "... saying whose it is" "$WHY" "$ERR"
tap_eq "the squatter received not a byte" 0 "$(bytes_of "$T/sq.log")"
tap_run "the victim's ocstopd refuses to start there" 1 victim timeout 10 "$T/bin/ocstopd" --no-default-server
tap_contains "... saying whose it is and what to do" \
  "refusing to listen in $FB: it is owned by another user (owner uid $SQUAT, mode 0755)" "$ERR"
tap_eq "... leaving the squatter's directory as it was" "$SQUAT 755" "$(stat -c '%u %a' "$FB")"
tap_ok "... and its socket in place" test -S "$FB/ocstop.sock"
stop_bg "$SQ_PID"
rm -rf "$FB"

# 2. The victim's own fallback directory, but open to others: refused, never re-moded.
victim mkdir -m 0755 "$FB"
tap_run "ocstopd refuses its own directory when it is 0755" 1 victim timeout 10 "$T/bin/ocstopd" --no-default-server
tap_contains "... saying why" "refusing to listen in $FB: it is open to other users (owner uid $V, mode 0755)" "$ERR"
tap_eq "... and leaves its mode" 755 "$(stat -c %a "$FB")"
chmod 1777 "$FB"
tap_run "ocstopd refuses it when it is 1777" 1 victim timeout 10 "$T/bin/ocstopd" --no-default-server
tap_eq "... and leaves its mode" 1777 "$(stat -c %a "$FB")"
tap_run "ocstop ping refuses a 1777 socket directory" 1 victim "$T/bin/ocstop" ping
tap_contains "... saying why" "its directory $FB is open to other users (owner uid $V, mode 1777)" "$ERR"
# Closed, it works: the refusals are about the mode, not the place.
chmod 0700 "$FB"
victim "$T/bin/ocstopd" --no-default-server >"$T/victim.log" 2>&1 &
VD=$!; oc_track $VD
tap_ok "in its own 0700 directory the victim's daemon starts" wait_until 30 victim "$T/bin/ocstop" -q ping
stop_bg "$VD"

# 3. -s into an existing shared directory (as root: /tmp itself would have become 0700).
mkdir -m 1777 "$T/shared"; mkdir -m 0755 "$T/home"
tap_run "ocstopd -s into an existing 1777 directory is refused" 1 \
  timeout 10 "$OCSTOPD_BIN" --no-default-server -s "$T/shared/ocstop.sock"
tap_contains "... saying why" "refusing to listen in $T/shared: it is open to other users" "$ERR"
tap_eq "... and the directory stays 1777" 1777 "$(stat -c %a "$T/shared")"
tap_ok "... with no socket made there" test ! -e "$T/shared/ocstop.sock"
tap_run "ocstopd -s into an existing 0755 directory is refused" 1 \
  timeout 10 "$OCSTOPD_BIN" --no-default-server -s "$T/home/ocstop.sock"
tap_eq "... and the directory stays 0755" 755 "$(stat -c %a "$T/home")"

# 4. A private directory of ours whose listener is someone else: it bound the socket as root and
# became uid 65534 before listen(), so only the kernel's credentials tell.
mkdir -m 0700 "$T/priv"
tap_ok "a listener of uid $SQUAT in a private root directory" \
  squatter_start 0 "$T/priv/ocstop.sock" "$T/peer.log" $SQUAT
tap_run "ocstop refuses it by SO_PEERCRED" 1 "$OCSTOP_BIN" -s "$T/priv/ocstop.sock" ping
tap_contains "... saying who listens" "runs as uid $SQUAT, not as you (uid 0)" "$ERR"
tap_eq "... which received not a byte" 0 "$(bytes_of "$T/peer.log")"
# A socket file of another user in our own directory: not ours to probe or remove.
chown $SQUAT "$T/priv/ocstop.sock"
tap_run "ocstopd will not take over another user's socket file" 1 \
  timeout 10 "$OCSTOPD_BIN" --no-default-server -s "$T/priv/ocstop.sock"
tap_contains "... saying why" "belongs to another user" "$ERR"
tap_eq "... and leaves it" "$SQUAT" "$(stat -c %u "$T/priv/ocstop.sock")"

# 5. Passwords.
PW=s3cret-in-url
mkdir -m 0700 "$T/d"
tap_run "a password in --opencode's URL is refused" 1 \
  timeout 10 "$OCSTOPD_BIN" --no-default-server -s "$T/d/ocstop.sock" --opencode "http://u:$PW@127.0.0.1:9"
tap_contains "... naming the alternatives" "give the password in \$OPENCODE_SERVER_PASSWORD or a password file" "$ERR"
tap_eq "... without showing the password" "" "$(grep -F -- "$PW" <<<"$ERR$OUT")"
printf 'pw\n' >"$T/pw-open"; chmod 0644 "$T/pw-open"
tap_run "a password file others can read is refused" 1 \
  timeout 10 "$OCSTOPD_BIN" --no-default-server -s "$T/d/ocstop.sock" --password-file "$T/pw-open"
tap_contains "... saying why" "$T/pw-open: others can read or change it (mode 0644)" "$ERR"
LONG=$(head -c 1024 /dev/zero | tr '\0' 'p')
(umask 077; printf '%s\n' "$LONG" >"$T/pw-1024"; printf '%sp\n' "$LONG" >"$T/pw-1025")
tap_run "a password file of 1025 bytes and a newline is refused" 1 \
  timeout 10 "$OCSTOPD_BIN" --no-default-server -s "$T/d/ocstop.sock" --password-file "$T/pw-1025"
tap_contains "... saying why" "longer than 1024 bytes" "$ERR"
OCSTOP_SOCKET=$T/d/ocstop.sock
export OCSTOP_SOCKET
"$OCSTOPD_BIN" -v --no-default-server --password-file "$T/pw-1024" --opencode http://127.0.0.1:9 \
  >"$T/d.log" 2>&1 &
PD=$!; oc_track $PD
tap_ok "a password file of 1024 bytes and a newline is taken" wait_until 30 ocstop -q ping
tap_run "status answers" 0 ocstop -j status
tap_ok "the password is in neither status, the log nor argv" \
  not grep -qF "$LONG" <(printf '%s\n' "$OUT"; cat "$T/d.log"; tr '\0' ' ' <"/proc/$PD/cmdline")

tap_done
