#!/usr/bin/env bash
# Behaviour gate for refactors: runs the same outputs at two commits and compares them byte for
# byte. Outputs: `npm start` (stdout and every file under results/), and
# `nfct-sim run <experiment> --quick` for every experiment, `trace` and `fixture` of every named
# scenario. params.json differs only in its
# "commit" line, which is removed before the comparison.
#
#   scripts/behaviour-gate.sh OLD_REV [NEW_REV]   (NEW_REV defaults to the working tree)
#
# Exit 0 when every file is identical, 1 otherwise. Needs about 2 x 2 minutes on two cores.
set -euo pipefail
repo=$(git rev-parse --show-toplevel)
old=${1:?usage: behaviour-gate.sh OLD_REV [NEW_REV]}
new=${2:-}
work=$(mktemp -d /tmp/nfct-gate.XXXXXX)
trap 'git -C "$repo" worktree remove --force "$work/old" >/dev/null 2>&1 || true;
      [ -n "$new" ] && git -C "$repo" worktree remove --force "$work/new" >/dev/null 2>&1 || true' EXIT

checkout() { # rev dir
  git -C "$repo" worktree add --detach "$2" "$1" >/dev/null
  ln -s "$repo/node_modules" "$2/node_modules"
}

outputs() { # tree dest
  local tree=$1 dest=$2
  mkdir -p "$dest"
  (cd "$tree" && node --import tsx experiments/cli.ts suite --out "$dest/suite" >"$dest/suite.stdout" 2>/dev/null)
  local names
  names=$(cd "$tree" && node --import tsx experiments/cli.ts list | awk '/^experiments/{f=1;next} /^presets/{f=0} f && NF {print $1}')
  for e in $names; do
    (cd "$tree" && node --import tsx experiments/cli.ts run "$e" --quick --quiet --out "$dest/run-$e" >"$dest/run-$e.stdout" 2>/dev/null)
  done
  local scenarios
  scenarios=$(cd "$tree" && node --import tsx -e "import('./models/scenarios.ts').then(m => console.log(m.SCENARIO_NAMES.join(' ')))")
  for sc in $scenarios; do
    (cd "$tree" && node --import tsx experiments/cli.ts trace "$sc" --out "$dest/trace-$sc" >"$dest/trace-$sc.stdout" 2>/dev/null)
    (cd "$tree" && node --import tsx experiments/cli.ts fixture "$sc" --out "$dest/fixture-$sc" >"$dest/fixture-$sc.stdout" 2>/dev/null)
  done
  # The commit id is the one intended difference; manifest.json holds params.json's hash, so it
  # differs by the commit too and is left out (every file it lists is compared itself).
  find "$dest" -name params.json -exec sed -i '/"commit":/d' {} +
  find "$dest" -name manifest.json -delete
  sed -i 's#'"$dest"'#OUT#g' "$dest"/*.stdout
}

checkout "$old" "$work/old"
if [ -n "$new" ]; then checkout "$new" "$work/new"; newtree="$work/new"; else newtree="$repo"; fi
outputs "$work/old" "$work/out-old" &
outputs "$newtree" "$work/out-new"
wait

status=0
count=0
while IFS= read -r f; do
  count=$((count + 1))
  if ! cmp -s "$work/out-old/$f" "$work/out-new/$f"; then echo "DIFFERS: $f"; status=1; fi
done < <(cd "$work/out-old" && find . -type f | sort)
extra=$(comm -13 <(cd "$work/out-old" && find . -type f | sort) <(cd "$work/out-new" && find . -type f | sort))
[ -n "$extra" ] && { echo "ONLY IN NEW: $extra"; status=1; }
echo "compared $count files ($work/out-old vs $work/out-new): $([ $status = 0 ] && echo identical || echo DIFFERENT)"
exit $status
