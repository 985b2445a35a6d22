#!/usr/bin/env bash
# Restore a backup of the embedded vector index into a new data directory:
# the backup file becomes DIR/snapshot; then start the service on DIR.
#
#   examples/vector-store/restore.sh BACKUP_FILE DIR
#   VECTOR_DATA_DIR=DIR ./dist/prodapi/advanced-backend
#
# DIR must not exist or be empty: the service would replay any log there
# on top of the snapshot.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BACKUP_FILE DIR" >&2; exit 2; }
backup=$1 dir=$2
[ -f "$backup" ] || { echo "restore: no backup file $backup" >&2; exit 1; }
mkdir -p "$dir"
if [ -n "$(ls -A "$dir")" ]; then
  echo "restore: $dir is not empty" >&2
  exit 1
fi
cp "$backup" "$dir/snapshot"
echo "restored into $dir; start the service with VECTOR_DATA_DIR=$dir"
