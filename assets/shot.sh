# Sourced by assets/panel.sh and assets/panes.sh: memmux in a tmux pane of its own (160x45,
# its own socket, its own empty config), keys sent to it, and its screen rendered to PNG.
#
# Before sourcing: `name` (the script's name, for messages), `out` (the PNG to write) and,
# if wanted, `shell_env` (extra environment for memmux, e.g. SHELL=...) and `memmux_args`.
# Needs tmux, aha and chromium (Debian: apt-get install -y tmux aha chromium fonts-dejavu-core).

for t in tmux aha chromium python3 cargo; do
  command -v "$t" >/dev/null || { echo "$name: $t is not installed" >&2; exit 2; }
done
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/memmux
sock=memmux-$name-$$
tmp=$(mktemp -d)
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

# A config of its own: nothing from the user's file changes the picture.
mkdir -p "$tmp/config/memmux"
: >"$tmp/config/memmux/config.toml"

start_memmux() {
  tmux -L "$sock" -f /dev/null new-session -d -x 160 -y 45 -s shot \
    "env MEMMUX_NO_SERVER=1 ${shell_env:-} XDG_CONFIG_HOME=$tmp/config PS1='\$ ' TERM=xterm-256color $bin ${memmux_args:-}"
}

keys() { tmux -L "$sock" send-keys -t shot "$@"; }

# Waits until the pane shows $1 (10 s at most).
wait_for() {
  for _ in $(seq 100); do
    tmux -L "$sock" capture-pane -p -t shot | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  echo "$name: never saw '$1' on the screen" >&2
  exit 1
}

# The pane with its colours, as a PNG at $out.
render() {
  tmux -L "$sock" capture-pane -p -e -t shot >"$tmp/pane.ans"
  aha --black --title memmux <"$tmp/pane.ans" |
    sed 's|<pre>|<pre style="margin:8px;font-family:DejaVu Sans Mono,monospace;font-size:14px;line-height:17px">|' \
    >"$tmp/pane.html"
  # 160x45 cells at 14 px DejaVu Sans Mono: 8.43 px by 17 px, plus the margins.
  chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$tmp/profile" \
    --window-size=1372,789 --screenshot="$tmp/shot.png" "file://$tmp/pane.html" >/dev/null 2>&1
  [[ -s $tmp/shot.png ]] || { echo "$name: chromium wrote no image" >&2; exit 1; }
  mv "$tmp/shot.png" "$out"
  echo "$out"
}
