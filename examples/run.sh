#!/bin/sh
# Runs the relay example on the local Docker engine. There is no registry to
# pull from, so it first builds the example image from Debian's busybox-static
# (apt-get install busybox-static).
set -eu
cd "$(dirname "$0")/.."
image=baton-example/busybox:1
if ! docker image inspect "$image" >/dev/null 2>&1; then
	busybox=$(command -v busybox || true)
	[ -n "$busybox" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
	mkdir -p "$dir/bin" "$dir/tmp"
	cp "$busybox" "$dir/bin/busybox"
	for cmd in sh env grep sort echo printf wget cat sleep; do ln -s busybox "$dir/bin/$cmd"; done
	tar -C "$dir" -c . | docker import - "$image" >/dev/null
	echo "built $image from $busybox" >&2
fi
# An example file may be named first (default: examples/relay.yaml); the
# rest goes to baton exec.
file=examples/relay.yaml
case "${1:-}" in
*.yaml) file=$1; shift ;;
esac
exec go run ./cmd/baton exec -f "$file" --data-dir "${BATON_DATA_DIR:-.baton}" "$@"
