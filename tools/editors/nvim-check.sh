#!/bin/sh
# Tries the README's Neovim recipe as a user would, headless: the init.lua blocks of the
# README (language server, then tree-sitter grammar and :ToyFmt) in a throw-away
# configuration, the grammar compiled into its site directory, a .ks file with an error
# opened, and tools/editors/nvim-check.lua printing diagnostics, hovers, go to
# definition, highlighting and :ToyFmt. Needs `toy` on the PATH and a C compiler.
#     tools/editors/nvim-check.sh [path/to/nvim]    # Neovim 0.8 or later
set -eu
nvim=${1:-nvim}
root=$(cd "$(dirname "$0")/../.." && pwd)
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
mkdir -p "$home/config/nvim" "$home/data/nvim/site/parser" \
    "$home/data/nvim/site/queries/kaleidoscope" "$home/work"
# The ```lua blocks after the README's "Neovim (0.8" and "and in `init.lua`" lines.
for start in 'Neovim (0.8' 'and in `init.lua`'; do
    awk -v start="$start" '
        index($0, start) == 1 { found = 1 }
        found && /^```lua$/ { inside = 1; next }
        inside && /^```$/ { exit }
        inside { print }' "$root/README.md"
done >"$home/config/nvim/init.lua"
grammar=$root/grammar/tree-sitter-kaleidoscope
cc -shared -fPIC -O2 -I "$grammar/src" "$grammar/src/parser.c" \
    -o "$home/data/nvim/site/parser/kaleidoscope.so"
cp "$grammar"/queries/*.scm "$home/data/nvim/site/queries/kaleidoscope/"
cat >"$home/work/try.ks" <<'KS'
def binary| 5 (a b) if a then 1 else if b then 1 else 0;
def f(x) x | y;
f(1);
KS
cd "$home/work"
XDG_CONFIG_HOME=$home/config XDG_DATA_HOME=$home/data XDG_STATE_HOME=$home/state \
    timeout 60 "$nvim" --headless try.ks -c "luafile $root/tools/editors/nvim-check.lua"
