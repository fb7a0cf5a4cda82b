#!/bin/sh
# A fake kuasar-wasm-tasker for the sandboxer's functional test: follows the process contract
# (socket file, "ready" on --ready-fd, exit 0 on SIGTERM). Ids starting "fail-" fail to start,
# "stubborn-" ones ignore SIGTERM,
# "hang-" ones never become ready.
while [ $# -gt 0 ]; do
  case "$1" in
    --socket) sock=$2; shift 2 ;;
    --ready-fd) fd=$2; shift 2 ;;
    --id) id=$2; shift 2 ;;
    *) shift ;;
  esac
done
case "$id" in
  fail-*) echo "fake tasker: cannot start $id"; exit 3 ;;
  hang-*) echo "fake tasker: hanging"; exec sleep 60 ;;
esac
trap 'echo "fake tasker: SIGTERM"; exit 0' TERM
case "$id" in
  stubborn-*) trap 'echo "fake tasker: ignoring SIGTERM"' TERM ;;
esac
: > "$sock"
echo "fake tasker $id ready on $sock"
eval "echo ready >&$fd"
eval "exec $fd>&-"
while :; do
  sleep 1 &
  wait $!
done
