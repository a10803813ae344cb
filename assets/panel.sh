#!/bin/bash
# Regenerates assets/panel.png, the README's screenshot, from the memmux built here: memmux
# runs in a pty (a tmux pane, 160x45, on a socket of its own) with four tabs, one of them a
# program that keeps growing; after 75 s (the 60 s leak window plus margin, so the growth
# mark and rate show) the pane is captured with its colours and rendered to PNG.
#
# Needs tmux, aha and chromium (Debian: apt-get install -y tmux aha chromium fonts-dejavu-core).
# Usage, from the repository's root: assets/panel.sh [OUT.png]   (default assets/panel.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/panel.png}
for t in tmux aha chromium python3 cargo; do
  command -v "$t" >/dev/null || { echo "panel.sh: $t is not installed" >&2; exit 2; }
done
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/memmux
sock=memmux-screenshot-$$
tmp=$(mktemp -d)
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# A config of its own: nothing from the user's file changes the picture.
mkdir -p "$tmp/config/memmux"
: >"$tmp/config/memmux/config.toml"
tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 45 -s shot \
  "env MEMMUX_NO_SERVER=1 XDG_CONFIG_HOME=$tmp/config PS1='\$ ' TERM=xterm-256color $bin -- bash --norc --noprofile"

keys() { tmux -L "$sock" send-keys -t shot "$@"; }
# Waits until the pane shows $1 (10 s at most).
wait_for() {
  for _ in $(seq 100); do
    tmux -L "$sock" capture-pane -p -t shot | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  echo "panel.sh: never saw '$1' on the screen" >&2
  exit 1
}
rename() { keys C-b ,; wait_for "rename tab"; keys C-u "$1" Enter; }
new_tab() { keys C-b c; wait_for " $1:"; }

wait_for '$'
rename shell
keys 'ls -l /usr/lib | head -20' Enter

new_tab 2
rename editor
keys 'vim -u NONE README.md' Enter

new_tab 3
rename leaky
# 1 MiB more every half second, written so the pages are resident: 120 MiB a minute.
keys "python3 -c 'import time
a = []
while True:
    a.append(b\"x\" * (1 << 20)); time.sleep(0.5)'" Enter

new_tab 4
rename build
keys 'seq 1 200000 | sort -r | head -5; sleep 600' Enter

keys C-b 1
sleep 75
tmux -L "$sock" capture-pane -p -e -t shot >"$tmp/pane.ans"
aha --black --title memmux <"$tmp/pane.ans" |
  sed 's|<pre>|<pre style="margin:8px;font-family:DejaVu Sans Mono,monospace;font-size:14px;line-height:17px">|' \
  >"$tmp/pane.html"
# 160x45 cells at 14 px DejaVu Sans Mono: 8.43 px by 17 px, plus the margins.
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$tmp/profile" \
  --window-size=1372,789 --screenshot="$tmp/panel.png" "file://$tmp/pane.html" >/dev/null 2>&1
[[ -s $tmp/panel.png ]] || { echo "panel.sh: chromium wrote no image" >&2; exit 1; }
mv "$tmp/panel.png" "$out"
echo "$out"
