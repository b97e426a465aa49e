#!/usr/bin/env bash
# Mutation check of the PoC checks: for each check kind, its judgement is replaced with "always
# pass" (the evaluator returns Pass before looking at anything) and the runner's unit tests must
# then fail. Prints one line per kind; exits 1 if a mutant survives.
#
#   bash scripts/mutate-checks.sh            # every kind, in a scratch copy of the checkout
#   KINDS="quota balikan" bash scripts/mutate-checks.sh
#
# The transport check has no separate evaluator (its judgement is the `Check` itself); its mutant
# is judged by the integration tests instead: TRANSPORT=1 also runs
# `cargo test -p integration-tests --test it regression::every_defect` for it (a few minutes).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git -C "$root" worktree add -q --detach "$scratch/tree" HEAD
trap 'git -C "$root" worktree remove --force "$scratch/tree"; rm -rf "$scratch"' EXIT
cd "$scratch/tree"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/mutants}"

# kind file : the evaluator's signature line (its body gets the early return)
declare -A EVALUATOR=(
  [field_limits]="fn field_limits("
  [user_id]="fn user_id_propagation("
  [one_action]="fn one_action_one_request("
  [non_retention]="fn non_retention("
  [balikan]="fn balikan("
  [outcome_handling]="fn outcome_handling("
  [quota]="fn quota("
  [sequential]="fn no_sequential_lookups("
  [secret_hygiene]="fn secret_hygiene("
  [session_wide]="pub(crate) fn judge("
)
kinds="${KINDS:-${!EVALUATOR[*]}}"
survived=0
for kind in $kinds; do
  file="poc-runner/src/checks/$kind.rs"
  git checkout -q -- poc-runner/src
  python3 - "$file" "${EVALUATOR[$kind]}" "$kind" <<'PY'
import sys
path, sig, kind = sys.argv[1:]
t = open(path).read()
i = t.index(sig)
j = t.index("{\n", i) + 2
if kind == "session_wide":
    early = "    return;\n"
else:
    early = "    return super::Evaluation::new(super::CheckOutcome::Pass, Vec::new());\n"
open(path, "w").write(t[:j] + early + t[j:])
PY
  if cargo test -q -p poc-runner --lib -- checks:: >"$scratch/$kind.log" 2>&1; then
    echo "$kind: SURVIVED (always-pass judgement passes every unit test)"
    survived=1
  else
    failed=$(grep -c ' FAILED$' "$scratch/$kind.log" || true)
    echo "$kind: caught ($failed unit tests fail)"
  fi
done
git checkout -q -- poc-runner/src
if [ "${TRANSPORT:-0}" = 1 ]; then
  python3 - poc-runner/src/checks/transport.rs <<'PY'
import sys
p = sys.argv[1]; t = open(p).read()
i = t.index("    ) -> Evaluation {\n") + len("    ) -> Evaluation {\n")
open(p, "w").write(t[:i] + "        return Evaluation::new(CheckOutcome::Pass, Vec::new());\n" + t[i:])
PY
  cargo build -q --workspace --bins
  if cargo test -q -p integration-tests --test it -- regression::every_defect >"$scratch/transport.log" 2>&1; then
    echo "transport: SURVIVED"; survived=1
  else
    echo "transport: caught (regression::every_defect fails)"
  fi
  git checkout -q -- poc-runner/src
fi
exit "$survived"
