#!/bin/sh
# install-cni.sh: the vpc-ipam init container step.
#
# 1. Installs the CNI plugin executables into the host's CNI bin dir,
#    atomically: each is copied to a temp file in the destination dir, then
#    renamed over the old one. rename(2) within one filesystem is atomic, so a
#    runtime exec'ing the plugin at that moment gets the old or the new binary,
#    never a partial one (and overwriting a running binary in place would fail
#    with ETXTBSY). vpc-ipam-node (the Node plugin) goes before vpc-ipam (the
#    compiled shim, which execs vpc-ipam-node beside it when it cannot forward
#    a call to ipamd), so a shim is never installed without its fallback.
# 2. Creates the host log directory (/var/log/vpc-ipam, 0755 root) where the
#    plugin, which runs on the host, writes plugin.log; without it the plugin
#    logs to stderr (the runtime's log), saying so. A failure here warns and
#    goes on: logs are not worth a node without Pod networking.
# 3. Sets the host sysctls Pod routing needs. A container's own /proc/sys is
#    read-only, so the DaemonSet mounts the host's /proc/sys/net at
#    /host/proc/sys/net and sets PROC_SYS=/host/proc/sys; root with NET_ADMIN in
#    the host network namespace may then write it (no privileged container).
# The CNI config is NOT written here: ipamd writes it once it can serve Pods.
#
# Variables (defaults in brackets):
#   VPC_IPAM_CNI_SRC [/opt/vpc-ipam/cni]       where the image keeps the plugins
#   HOST_CNI_BIN_PATH [/host/opt/cni/bin]      host CNI bin dir as mounted
#   VPC_IPAM_CNI_PLUGINS ["vpc-ipam-node vpc-ipam portmap bandwidth"]
#   VPC_IPAM_LOG_DIR [/host/var/log/vpc-ipam]  host log dir as mounted
#   PROC_SYS [/proc/sys]                       (tests point it at a scratch dir)
#   VPC_IPAM_PRIMARY_IF [interface of the default route]
#   VPC_IPAM_SKIP_SYSCTL [false]               true: only install binaries
set -eu

SRC=${VPC_IPAM_CNI_SRC:-/opt/vpc-ipam/cni}
DEST=${HOST_CNI_BIN_PATH:-/host/opt/cni/bin}
PLUGINS=${VPC_IPAM_CNI_PLUGINS:-"vpc-ipam-node vpc-ipam portmap bandwidth"}
PROC_SYS=${PROC_SYS:-/proc/sys}

log() { printf 'install-cni: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -d "$DEST" ] || die "CNI bin dir $DEST does not exist (is the hostPath mounted?)"

for p in $PLUGINS; do
  case "$p" in
    */* | .* | "") die "invalid plugin name '$p'" ;;
  esac
  [ -f "$SRC/$p" ] || die "plugin $SRC/$p is missing from the image"
  tmp="$DEST/.$p.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  cp "$SRC/$p" "$tmp"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$DEST/$p"
  trap - EXIT
  log "installed $DEST/$p"
done

LOG_DIR=${VPC_IPAM_LOG_DIR:-/host/var/log/vpc-ipam}
if mkdir -p "$LOG_DIR" 2>/dev/null && chmod 0755 "$LOG_DIR" 2>/dev/null; then
  log "log dir $LOG_DIR"
else
  log "warning: cannot create log dir $LOG_DIR (is the hostPath mounted?); the plugin will log to stderr"
fi

set_sysctl() {
  # $1: key with slashes (net/ipv4/ip_forward), $2: value
  f="$PROC_SYS/$1"
  [ -e "$f" ] || die "sysctl $1 not found under $PROC_SYS"
  printf '%s\n' "$2" 2>/dev/null > "$f" || die "cannot write sysctl $1 under $PROC_SYS: needs root with NET_ADMIN" \
    "in the host network namespace and $PROC_SYS/net mounted read-write from the host's /proc/sys/net"
  log "sysctl $1=$2"
}

case "${VPC_IPAM_SKIP_SYSCTL:-false}" in
  true | 1 | yes) log "skipping sysctls (VPC_IPAM_SKIP_SYSCTL)"; exit 0 ;;
esac

primary=${VPC_IPAM_PRIMARY_IF:-}
if [ -z "$primary" ] && [ -r /proc/net/route ]; then
  # The interface of the default route (destination 00000000).
  primary=$(awk 'NR > 1 && $2 == "00000000" { print $1; exit }' /proc/net/route)
fi
case "$primary" in
  */* | .* ) die "invalid interface name '$primary'" ;;
esac

# Pods are routed through the host: forwarding must be on.
set_sysctl net/ipv4/ip_forward 1
if [ -n "$primary" ]; then
  # Loose reverse-path filtering on the primary interface: replies for Pods on
  # secondary interfaces arrive on an interface their source is not routed out
  # of, and strict mode (1) would drop them (the AWS VPC CNI sets the same).
  set_sysctl "net/ipv4/conf/$primary/rp_filter" 2
else
  log "no default-route interface found; rp_filter left as is"
fi
