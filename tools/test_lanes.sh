#!/usr/bin/env bash
# `make test` in two lanes on one machine. The lab suites (lab nodes, stack, end to end) mostly wait on containers
# (about half the CPU idle on 2 cores), so the checks that need the CPU run beside them:
#   nodes:  lab-test, stack-test, e2e
#   checks: units (one worker), contract, changelog-lint, sanity, lint, install-check, docs, integration, molecule
# then the benches, alone, so their ratios are measured on a quiet machine.
# Each step's output goes to $LOGS/<step>.log and is printed whole when the step ends, with its time. A lane stops at
# its first failure; the other lane runs to its end; the run fails if either did. The images and the collection
# tree are made once before the lanes (the steps are called with make -o for them, so no lane rebuilds them under the
# other).
# Every step is bounded: its own limit (LIMITS below, about three times its usual time on 2 cores) and the run's
# budget (TEST_BUDGET seconds from the start, 70 min by default: with setup, under CI's 90). A step that reaches its bound is
# stopped (coreutils timeout: TERM to its process group, KILL 30 s later), its log is printed with what it was doing,
# and the run fails: a hang is a red run that names the step, not a CI run cut off with nothing to show.
# Usage: tools/test_lanes.sh <build dir>   (from the Makefile's test target; MAKE names the make to call)
set -uo pipefail
build=${1:?build directory}
make_cmd=${MAKE:-make}
logs="$build/test-logs"
rm -rf "$logs" && mkdir -p "$logs"
made=(-o setup -o lab-engine -o lab-images -o tree)
# The engine, the images and the tools are set up before the lanes: a test that finds one missing fails instead of
# skipping (gough_lab.common.testing.lab_missing), so a broken setup cannot leave the run green with suites unrun.
export GOUGH_TEST_REQUIRE_LAB=1
budget=${TEST_BUDGET:-4200}
declare -A LIMITS=([lab-images]=1800 [tree]=600 [lab-test]=1800 [stack-test]=1200 [e2e]=2400 [units]=3000
  [contract]=600 [changelog-lint]=300 [sanity]=1200 [lint]=600 [install-check]=900 [docs]=900 [integration]=900
  [molecule]=1500 [bench-agent]=600 [bench-compliance]=600 [bench-inventory]=600 [bench-fleet]=600
  [bench-deploy]=600)

step() {  # step <lane> <name> <command...>: runs it, bounded, into its log, then prints the log under one lock
  local lane=$1 name=$2 started=$SECONDS rc limit left
  shift 2
  if [ "$1" = sub ]; then  # timeout runs programs, not shell functions: sub's make, spelled out
    shift
    set -- "$make_cmd" --no-print-directory "${made[@]}" "$@"
  fi
  limit=${LIMITS[$name]:-600}
  left=$((budget - SECONDS))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -le 0 ]; then
    echo "make test: [$lane] $name not started: the run's budget of $budget s is spent" >&2
    return 1
  fi
  echo "make test: [$lane] $name started (bound $limit s)"
  timeout --kill-after=30 "$limit" "$@" >"$logs/$name.log" 2>&1
  rc=$?
  {
    flock 9
    echo "======== [$lane] $name ========"
    cat "$logs/$name.log"
    if [ "$rc" -eq 0 ]; then
      echo "make test: $name took $((SECONDS - started)) s"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      echo "make test: $name TIMED OUT after $((SECONDS - started)) s (bound $limit s); its log: $logs/$name.log"
    else
      echo "make test: $name FAILED (exit $rc) after $((SECONDS - started)) s; its log: $logs/$name.log"
    fi
    echo "$name $rc $((SECONDS - started))" >>"$logs/.steps"
  } 9>"$logs/.print.lock"
  return "$rc"
}

summary() {  # one line per finished step, last in the output, where a cut-off log still shows it
  echo "make test: steps (name, exit, seconds): $(tr '\n' ';' <"$logs/.steps" 2>/dev/null)"
}


nodes_lane() {
  step nodes lab-test sub lab-test &&
    step nodes stack-test sub stack-test &&
    step nodes e2e sub e2e
}

checks_lane() {
  step checks units sub units UNIT_WORKERS="${UNIT_WORKERS:-1}" &&
    step checks contract env -u MAAS_URL -u MAAS_API_KEY -u GOUGH_CONTRACT_ARCHITECTURE "$make_cmd" \
      --no-print-directory "${made[@]}" contract &&
    step checks changelog-lint sub changelog-lint &&
    step checks sanity sub sanity &&
    step checks lint sub lint &&
    step checks install-check sub install-check &&
    step checks docs sub docs &&
    step checks integration sub integration &&
    step checks molecule sub molecule
}

started=$SECONDS
trap summary EXIT
step prepare lab-images "$make_cmd" --no-print-directory lab-images || exit 1
step prepare tree "$make_cmd" --no-print-directory tree || exit 1
nodes_lane & nodes=$!
checks_lane & checks=$!
wait "$nodes"; nodes_rc=$?
wait "$checks"; checks_rc=$?
echo "make test: the lanes took $((SECONDS - started)) s (nodes exit $nodes_rc, checks exit $checks_rc)"
[ "$nodes_rc" -eq 0 ] && [ "$checks_rc" -eq 0 ] || exit 1
step benches bench-agent sub bench-agent || exit 1
step benches bench-compliance sub bench-compliance BENCH_ARGS=--no-gate || exit 1
step benches bench-inventory sub bench-inventory BENCH_ARGS="--no-gate --machines 2000 --rounds 1" || exit 1
step benches bench-fleet sub bench-fleet "BENCH_ARGS=--no-gate --baseline-hosts 50" || exit 1
step benches bench-deploy sub bench-deploy "BENCH_ARGS=--no-gate --baseline-machines 50" || exit 1
echo "make test: everything passed in $((SECONDS - started)) s"
