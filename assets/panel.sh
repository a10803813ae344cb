#!/bin/bash
# Regenerates assets/panel.png, the README's screenshot, from the memmux built here: memmux
# runs in a pty (a tmux pane, 160x45, on a socket of its own) with four tabs, one of them a
# program that keeps growing; after 75 s (the 60 s leak window plus margin, so the growth
# mark and rate show) the pane is captured with its colours and rendered to PNG.
#
# Needs tmux, aha and chromium (see assets/shot.sh).
# Usage, from the repository's root: assets/panel.sh [OUT.png]   (default assets/panel.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/panel.png}
name=panel
memmux_args="-- bash --norc --noprofile"
# shellcheck source=assets/shot.sh
source assets/shot.sh
start_memmux

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
render
