#!/usr/bin/env bash
# Where a server process's CPU goes, by perf sampling (needs `perf`, Debian package linux-perf,
# and root or kernel.perf_event_paranoid <= 1):
#
#   bench/probes/perf-split.sh <pid> [seconds=5]
#
# Run it while a scenario's measured phase is on (the bench logs "server pid N"). Prints the share
# of the samples in the kernel, in user space, and the part of the kernel time spent in
# net_rx_action: on loopback a send(2) also runs the *receiving* socket's TCP work and wakes the
# reader, in the sender's system call. On a network that work happens on the clients' machines.
set -euo pipefail
pid=${1:?usage: perf-split.sh <pid> [seconds]}
secs=${2:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
perf record -q -g -F 2999 -p "$pid" -o "$out/perf.data" -- sleep "$secs" 2>/dev/null
report() { perf report -i "$out/perf.data" --stdio --no-demangle -g none "$@" 2>/dev/null; }
kernel=$(report --no-children --sort dso | awk '/\[kernel/ {gsub("%","",$1); s+=$1} END {printf "%.1f", s}')
# "Children" share of a kernel symbol: the first column of its line in a --children report.
children() { report --children --sort symbol | awk -v sym="$1" '!found && $3=="[k]" && $4==sym {gsub("%","",$1); print $1; found=1}'; }
rx=$(children net_rx_action)
sendto=$(children __sys_sendto)
echo "samples in kernel:                      ${kernel}%"
echo "samples in user space:                  $(awk -v k="$kernel" 'BEGIN {printf "%.1f", 100-k}')%"
echo "  send(2) and everything under it:      ${sendto:-0}%"
echo "  loopback receive work (net_rx_action): ${rx:-0}%  (the readers' TCP processing and wake-ups)"
