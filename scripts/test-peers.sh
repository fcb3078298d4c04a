#!/usr/bin/env bash
# Runs the adapter tests (langchain, mcp, crewai) against the oldest versions of the frameworks
# that their peer ranges accept, and against the latest, each in a temporary copy of the
# repository whose pnpm-workspace.yaml overrides the frameworks' versions. The repository itself
# is not touched.
#   scripts/test-peers.sh [oldest|latest|both]      (default: both)
# Keep OLDEST in step with the lower bounds of the peerDependencies in packages/*/package.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PNPM=(npx -y pnpm@12.21.0)
FRAMEWORKS=("@langchain/core" "langchain" "@langchain/langgraph" "@modelcontextprotocol/sdk")
declare -A OLDEST=(
  ["@langchain/core"]="1.2.0"
  ["langchain"]="1.0.1"
  ["@langchain/langgraph"]="1.0.0"
  ["@modelcontextprotocol/sdk"]="1.23.0"
)
ADAPTERS=(--filter=@agentgate/langchain --filter=@agentgate/mcp --filter=@agentgate/crewai)

run() {
  local which="$1" tmp status=0
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/agentgate-peers-${which}-XXXXXX")"
  [ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' RETURN
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$tmp" 2>/dev/null) || true
  # Overrides scoped to the adapters ("@agentgate/mcp>@modelcontextprotocol/sdk"), so that test
  # tools with their own copy (server-everything) keep theirs; the frameworks' own dependencies
  # resolve their peers from the adapter, so they see the same versions.
  echo "overrides:" >>"$tmp/pnpm-workspace.yaml"
  for name in "${FRAMEWORKS[@]}"; do
    if [ "$which" = oldest ]; then version="${OLDEST[$name]}"; else version="$(npm view "$name" version)"; fi
    for adapter in langchain mcp crewai; do
      if grep -q "\"$name\"" "$tmp/packages/$adapter/package.json"; then
        echo "  \"@agentgate/$adapter>$name\": \"$version\"" >>"$tmp/pnpm-workspace.yaml"
      fi
    done
  done
  echo "::: peers $which: $(sed -n '/^overrides:/,$p' "$tmp/pnpm-workspace.yaml" | tail -n +2 | tr -s ' ' | tr '\n' ' ')"
  (cd "$tmp" && "${PNPM[@]}" install --no-frozen-lockfile --reporter=silent) || status=$?
  if [ "$status" -eq 0 ]; then
    (cd "$tmp" && "${PNPM[@]}" exec turbo run test "${ADAPTERS[@]}" --continue --output-logs=full) >"$tmp/test.log" 2>&1 || status=$?
    sed -e 's/\x1b\[[0-9;]*m//g' "$tmp/test.log" | grep -E "(Tests|Test Files) +[0-9]+|FAIL|×" | sed "s/^/  /" || true
  fi
  # What was really installed, as pnpm resolved it.
  for name in "${FRAMEWORKS[@]}"; do
    local prefix="${name//\//+}@"
    printf '  resolved %s: %s\n' "$name" "$(ls "$tmp/node_modules/.pnpm" 2>/dev/null | grep -F "$prefix" | grep -E '^[^_]*$|_' | awk -v p="$prefix" 'index($0, p) == 1 { v = substr($0, length(p) + 1); sub(/_.*/, "", v); print v }' | sort -u | tr '\n' ' ')"
  done
  if [ "$status" -eq 0 ]; then echo "peers $which: passed"; else echo "peers $which: FAILED (exit $status)"; fi
  return "$status"
}

case "${1:-both}" in
  oldest | latest) run "$1" ;;
  both)
    code=0
    run oldest || code=1
    run latest || code=1
    exit "$code"
    ;;
  *) echo "usage: $0 [oldest|latest|both]" >&2; exit 2 ;;
esac
