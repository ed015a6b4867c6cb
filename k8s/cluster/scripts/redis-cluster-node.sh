#!/bin/sh
# Starts one Redis Cluster node (redis-cluster.yaml): brings the node addresses
# in nodes.conf up to date, then runs redis-server with the arguments given.
#
# A pod gets a new IP whenever it restarts. The cluster learns a node's new
# address when that node reconnects, but a node can only reconnect to peers it
# can reach: after every pod restarted at once, each nodes.conf names only old
# IPs and no node would find another again. Each node announces its DNS name
# (--cluster-announce-hostname), which nodes.conf keeps beside its IP: resolve
# those names now and write the current IPs.
set -eu

conf="${REDIS_NODES_CONF:-/data/nodes.conf}"
# A peer whose name does not resolve yet (its pod is starting) is retried for
# this many seconds; one that never does keeps its old address.
resolve_seconds="${REDIS_RESOLVE_SECONDS:-15}"

resolve() {
  waited=0
  while :; do
    address=$(getent hosts "$1" | awk '{ print $1; exit }') || address=""
    if [ -n "$address" ]; then
      echo "$address"
      return 0
    fi
    [ "$waited" -lt "$resolve_seconds" ] || return 1
    waited=$((waited + 1))
    sleep 1
  done
}

# One nodes.conf line: "<id> <ip>:<port>@<cport>[,<hostname>][,key=value...] <flags> ...";
# the last line is "vars ...". Rewrites the address of a line, or prints it as is.
update_line() {
  set -f
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $1
  set +f
  if [ "$#" -lt 3 ] || [ "$1" = vars ]; then
    printf '%s\n' "$*"
    return
  fi
  id=$1
  endpoint=$2
  flags=$3
  hostname=""
  case "$endpoint" in *,*)
    rest=${endpoint#*,}
    hostname=${rest%%,*}
    ;;
  esac
  case "$hostname" in *=*) hostname="" ;; esac
  ip=""
  case ",$flags," in
    *,myself,*) ip="${POD_IP:-}" ;;
    *) if [ -n "$hostname" ]; then ip=$(resolve "$hostname") || ip=""; fi ;;
  esac
  shift 2
  if [ -z "$ip" ]; then
    printf '%s %s %s\n' "$id" "$endpoint" "$*"
    return
  fi
  coordinates=${endpoint%%@*}
  printf '%s %s:%s%s %s\n' "$id" "$ip" "${coordinates##*:}" "${endpoint#"$coordinates"}" "$*"
}

if [ -f "$conf" ]; then
  updated="$conf.updating"
  : >"$updated"
  while IFS= read -r line; do
    update_line "$line" >>"$updated"
  done <"$conf"
  mv "$updated" "$conf"
fi
exec redis-server "$@"
