#!/usr/bin/env bash
# vttest menus 1, 2 and 8, screen by screen: memmux against tmux 3.3a as the reference.
#
# Both run under one private tmux server: window `ref` runs vttest directly in an 80x24
# pane; window `mux` runs memmux (80x26: its tab bar and status line around an 80x24 pane)
# with vttest as its first tab. The same keys go to both; each screen is taken once it shows
# vttest's prompt and has stopped changing, and the two are compared as text
# (`capture-pane`), then with attributes (`capture-pane -e`, which both sides go through).
#
# Usage: tests/vttest/compare.sh [MEMMUX_BINARY] [OUT_DIR]
# Prints one line per screen (same / differs) and a summary; OUT_DIR keeps both screens of
# each step. Exits 0 when every screen's text is the same.
set -u
bin=${1:-target/release/memmux}
out=${2:-$(mktemp -d)}
command -v vttest >/dev/null || { echo "vttest is not installed" >&2; exit 2; }
command -v tmux >/dev/null || { echo "tmux is not installed" >&2; exit 2; }
[ -x "$bin" ] || { echo "no memmux binary at $bin" >&2; exit 2; }
bin=$(realpath "$bin")
sock=memmux-vttest-$$
home=$(mktemp -d)
t() { tmux -L "$sock" "$@"; }
cleanup() { t kill-server 2>/dev/null; rm -rf "$home"; }
trap cleanup EXIT
mkdir -p "$out"

t -f /dev/null new-session -d -s v -n ref -x 80 -y 24 "vttest"
# MEMMUX_NO_SERVER: memmux alone in the window, as the other tests run it (through a server
# the session would outlive the window and the test).
t new-window -d -t v -n mux "env HOME=$home TERM=xterm-256color MEMMUX_NO_SERVER=1 $bin -- vttest"
t resize-window -t v:mux -x 80 -y 26 2>/dev/null || true

# The pane's screen: all of `ref`, rows 1-24 of `mux`. $2 adds -e for attributes.
shot() {
    if [ "$1" = ref ]; then t capture-pane -p $2 -t v:ref; else t capture-pane -p $2 -t v:mux -S 1 -E 24; fi
}

# Waits until both show a vttest prompt (vttest prints it last) and neither changed over
# three looks 0.1 s apart; gives up after 20 s.
settle() {
    local a b pa= pb= n=0 still=0
    while [ $n -lt 200 ]; do
        a=$(shot ref ""); b=$(shot mux "")
        if [ "$a" = "$pa" ] && [ "$b" = "$pb" ] \
            && grep -qE 'RETURN|Enter choice' <<<"$a" && grep -qE 'RETURN|Enter choice' <<<"$b"; then
            still=$((still + 1))
            [ $still -ge 2 ] && return 0
        else
            still=0
        fi
        pa=$a; pb=$b; n=$((n + 1)); sleep 0.1
    done
    return 1
}

same=0; differ=0; attr_differ=0; step=0
record() {
    step=$((step + 1))
    local name; name=$(printf '%s-%02d' "$1" "$step")
    settle || echo "$name: did not settle"
    shot ref "" >"$out/$name.ref.txt"; shot mux "" >"$out/$name.mux.txt"
    shot ref -e >"$out/$name.ref.ansi"; shot mux -e >"$out/$name.mux.ansi"
    if cmp -s "$out/$name.ref.txt" "$out/$name.mux.txt"; then
        same=$((same + 1))
        if cmp -s "$out/$name.ref.ansi" "$out/$name.mux.ansi"; then
            echo "$name: same"
        else
            attr_differ=$((attr_differ + 1))
            echo "$name: same text, attributes differ"
        fi
    else
        differ=$((differ + 1))
        echo "$name: text differs ($(diff "$out/$name.ref.txt" "$out/$name.mux.txt" | grep -c '^[<>]') lines)"
    fi
}
keys() { t send-keys -t v:ref "$@"; t send-keys -t v:mux "$@"; }

record menu
for menu in 1 2 8; do
    keys "$menu" Enter
    # A menu's screens each end with "Push <RETURN>"; the main menu comes back after the last.
    for _ in $(seq 1 40); do
        record "m$menu"
        if grep -q 'Enter choice number (0 - 12)' "$out/$(printf 'm%s-%02d' "$menu" "$step").ref.txt"; then
            break
        fi
        keys Enter
    done
done
echo "screens: $((same + differ)), same text: $same (of which attributes differ: $attr_differ), text differs: $differ; kept in $out"
[ "$differ" -eq 0 ]
