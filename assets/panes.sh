#!/bin/bash
# Regenerates assets/panes.png, the README's picture of split panes, from the memmux built
# here: memmux runs in a pty (a tmux pane, 160x45, on a socket of its own); tab 1 is split in
# three (an editor on the left, a program that keeps growing above a shell on the right), each
# pane titled on the line above it, the memory panel on the right; after 20 s (a few samples
# on the chart) the pane is captured with its colours and rendered to PNG.
#
# Needs tmux, aha and chromium (Debian: apt-get install -y tmux aha chromium fonts-dejavu-core).
# Usage, from the repository's root: assets/panes.sh [OUT.png]   (default assets/panes.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/panes.png}
for t in tmux aha chromium python3 cargo; do
  command -v "$t" >/dev/null || { echo "panes.sh: $t is not installed" >&2; exit 2; }
done
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/memmux
sock=memmux-panes-$$
tmp=$(mktemp -d)
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# A config of its own: nothing from the user's file changes the picture. New panes start
# $SHELL: a bash that reads no rc file, so every prompt is `$ `.
mkdir -p "$tmp/config/memmux"
: >"$tmp/config/memmux/config.toml"
printf '#!/bin/sh\nexec bash --norc --noprofile "$@"\n' >"$tmp/shell"
chmod +x "$tmp/shell"
tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 45 -s shot \
  "env MEMMUX_NO_SERVER=1 SHELL=$tmp/shell XDG_CONFIG_HOME=$tmp/config PS1='\$ ' TERM=xterm-256color $bin"

keys() { tmux -L "$sock" send-keys -t shot "$@"; }
# Waits until the pane shows $1 (10 s at most).
wait_for() {
  for _ in $(seq 100); do
    tmux -L "$sock" capture-pane -p -t shot | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  echo "panes.sh: never saw '$1' on the screen" >&2
  exit 1
}

wait_for '$'
keys C-b , C-u work Enter
keys 'vim -u NONE README.md' Enter
wait_for 'README.md'
keys C-b %
wait_for '┬'
# 1 MiB more every half second, written so the pages are resident.
keys 'clear; python3 -c '"'"'import time; a = []; [a.append(b"x" * (1 << 20)) or time.sleep(0.5) for _ in iter(int, 1)]'"'" Enter
keys C-b '"'
wait_for '├'
keys 'ls -l /usr/lib | head -14' Enter
keys C-b c
keys C-b , C-u build Enter
keys 'seq 1 200000 | sort -r | head -5; sleep 600' Enter
keys C-b 1
sleep 20
tmux -L "$sock" capture-pane -p -e -t shot >"$tmp/pane.ans"
aha --black --title memmux <"$tmp/pane.ans" |
  sed 's|<pre>|<pre style="margin:8px;font-family:DejaVu Sans Mono,monospace;font-size:14px;line-height:17px">|' \
  >"$tmp/pane.html"
# 160x45 cells at 14 px DejaVu Sans Mono: 8.43 px by 17 px, plus the margins.
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size=1372,789 --screenshot="$tmp/panes.png" "file://$tmp/pane.html" >/dev/null 2>&1
[[ -s $tmp/panes.png ]] || { echo "panes.sh: chromium wrote no image" >&2; exit 1; }
mv "$tmp/panes.png" "$out"
echo "$out"
