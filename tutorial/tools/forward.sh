#!/usr/bin/env bash
# Carries a fix forward: applies the uncommitted changes of checkpoint chFROM
# (`git diff` of tutorial/code/chFROM) to every later checkpoint, in order, with
# `patch`, and stops at the first one where it does not apply cleanly.
#
#   tutorial/tools/forward.sh 01     # after editing tutorial/code/ch01
#
# On a conflict, fix that checkpoint by hand, then run `forward.sh` with its number to
# carry on from there: its diff then holds the fix as it applies there.
set -euo pipefail
if [[ $# -ne 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 FROM   (a chapter number: 1 or 01)" >&2
    exit 2
fi
code="$(cd "$(dirname "$0")/../code" && pwd)"
from=$(printf 'ch%02d' "$((10#$1))")
[[ -d $code/$from ]] || { echo "$0: no checkpoint $from in $code" >&2; exit 2; }

# Paths relative to the checkpoint (a/src/main.rs), so the patch fits any of them.
# New files are included (intent-to-add makes `git diff` show them).
git -C "$code" add --intent-to-add -- "$from"
diff=$(git -C "$code" diff --relative="$(git -C "$code/$from" rev-parse --show-prefix)" -- "$from")
if [[ -z $diff ]]; then
    echo "$0: $from has no uncommitted changes to carry forward" >&2
    exit 1
fi

applied=0
for dir in "$code"/ch[0-9][0-9]; do
    name=$(basename "$dir")
    [[ $name > $from ]] || continue
    # Try first, so that a conflict leaves the checkpoint untouched.
    if ! trial=$(patch --dry-run --forward -p1 -d "$dir" <<<"$diff" 2>&1); then
        echo "$trial" >&2
        echo "$0: the change does not apply to $name; fix it by hand, then run: $0 ${name#ch}" >&2
        exit 1
    fi
    patch --silent --forward --no-backup-if-mismatch -p1 -d "$dir" <<<"$diff"
    echo "applied to $name"
    applied=$((applied + 1))
done
[[ $applied -gt 0 ]] || echo "no checkpoint after $from: nothing to do"
