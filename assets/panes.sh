#!/bin/bash
# Regenerates assets/panes.png, the README's picture of split panes, from the memmux built
# here: memmux runs in a pty (a tmux pane, 160x45, on a socket of its own); tab 1 is split in
# three (an editor on the left, a program that keeps growing above a shell on the right), each
# pane titled on the line above it, the memory panel on the right; after 20 s (a few samples
# on the chart) the pane is captured with its colours and rendered to PNG.
#
# Needs tmux, aha and chromium (see assets/shot.sh).
# Usage, from the repository's root: assets/panes.sh [OUT.png]   (default assets/panes.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-assets/panes.png}
name=panes
# New panes start $SHELL: a bash that reads no rc file, so every prompt is `$ `.
tmp_shell=$(mktemp)
printf '#!/bin/sh\nexec bash --norc --noprofile "$@"\n' >"$tmp_shell"
chmod +x "$tmp_shell"
shell_env="SHELL=$tmp_shell"
# shellcheck source=assets/shot.sh
source assets/shot.sh
trap 'cleanup; rm -f "$tmp_shell"' EXIT
start_memmux

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
render
