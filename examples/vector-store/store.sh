#!/usr/bin/env bash
# Store and search vectors with curl against a prodapi or full build
# (make prodapi; ./dist/prodapi/advanced-backend). With JWT auth on, set
# TOKEN (from POST /auth/token, a user with role admin for the backup).
#
#   examples/vector-store/store.sh [BASE]      # BASE defaults to http://127.0.0.1:8000
#
# It creates the collection "docs" (3 dimensions, cosine), upserts three
# points with payloads, searches (with and without a payload filter),
# reads one point back, and writes a backup of the embedded index; the
# last line it prints is the backup file (restore.sh takes it).
set -euo pipefail
base=${1:-http://127.0.0.1:8000}
api=$base/api/v2/vector
auth=()
[ -z "${TOKEN:-}" ] || auth=(-H "Authorization: Bearer $TOKEN")
# call METHOD URL [JSON]: print the answer; a non-2xx answer stops the script
call() {
  local args=(-sS --fail-with-body --max-time 30 -X "$1" "${auth[@]}" "$2")
  [ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}"
  echo
}

echo "# create a collection of 3-dimensional vectors, cosine similarity"
call PUT "$api/collections/docs" '{"size": 3, "distance": "cosine"}'

echo "# upsert three points (ids are unsigned integers or UUIDs)"
call POST "$api/collections/docs/points" '{"points": [
  {"id": 1, "vector": [0.9, 0.1, 0.0], "payload": {"title": "red apple",   "kind": "fruit"}},
  {"id": 2, "vector": [0.8, 0.2, 0.1], "payload": {"title": "cherry",      "kind": "fruit"}},
  {"id": 3, "vector": [0.0, 0.1, 0.9], "payload": {"title": "blue whale",  "kind": "animal"}}]}'

echo "# the two nearest points to a vector"
call POST "$api/collections/docs/search" '{"vector": [1, 0, 0], "limit": 2}'

echo "# the same, only points whose payload has kind = animal"
call POST "$api/collections/docs/search" '{"vector": [1, 0, 0], "limit": 2, "filter": {"kind": "animal"}}'

echo "# one point back"
call GET "$api/collections/docs/points/3"

echo "# a consistent backup while the service keeps serving (admin)"
backup=$(call POST "$api/backup")
echo "$backup"
path=$(printf '%s' "$backup" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
[ -n "$path" ] || { echo "store: no backup path in $backup" >&2; exit 1; }
echo "$path"
