#!/bin/sh
# Joins the Redis pods into one cluster (redis-cluster-create.yaml), once: when
# any node already serves slots the cluster exists and nothing is changed, so
# the Job may run again at every apply.
set -eu

masters="${REDIS_CLUSTER_MASTERS:?}"
replicas="${REDIS_CLUSTER_REPLICAS:?}"
statefulset="${REDIS_STATEFULSET:-redis-cluster}"
service="${REDIS_SERVICE:-redis-cluster}"
port="${REDIS_PORT:-6379}"
count=$((masters * (1 + replicas)))

hosts=""
i=0
while [ "$i" -lt "$count" ]; do
  hosts="$hosts $statefulset-$i.$service"
  i=$((i + 1))
done

cluster_info() {
  redis-cli -h "$1" -p "$port" cluster info | tr -d '\r' | sed -n "s/^$2://p"
}

for host in $hosts; do
  until redis-cli -h "$host" -p "$port" ping 2>/dev/null | grep -q PONG; do
    echo "waiting for $host:$port to answer"
    sleep 2
  done
done

serving=""
joined=""
alone=""
for host in $hosts; do
  if [ "$(cluster_info "$host" cluster_slots_assigned)" != 0 ]; then serving="$serving $host"; fi
  if [ "$(cluster_info "$host" cluster_known_nodes)" = 1 ]; then alone="$alone $host"; else joined="$joined $host"; fi
done

if [ -n "$serving" ]; then
  echo "the cluster exists (slots served, as seen by:$serving); nothing to create"
  if [ -n "$alone" ]; then
    echo "not part of it (a pod whose volume was lost?):$alone"
    echo "add each as a replica: redis-cli --cluster add-node <its ip>:$port <a member's ip>:$port --cluster-slave (docs/DEPLOYMENT.md)"
  fi
  # The state as redis-cli sees it, for the Job's log; a failover in progress is no reason to fail.
  first=${serving# }
  redis-cli --cluster check "${first%% *}:$port" || true
  exit 0
fi

# Nodes that met but serve no slots: an earlier attempt stopped half-way. They hold no keys
# (a node without slots accepts none), so forgetting that attempt loses nothing.
for host in $joined; do
  echo "resetting $host, left from an unfinished attempt"
  redis-cli -h "$host" -p "$port" cluster reset hard
done

# CLUSTER MEET takes IP addresses.
addresses=""
for host in $hosts; do
  ip=$(getent hosts "$host" | awk '{ print $1; exit }')
  addresses="$addresses $ip:$port"
done
echo "creating the cluster: $masters masters, $replicas replica(s) each, from$addresses"
# shellcheck disable=SC2086 # one argument per address
redis-cli --cluster create $addresses --cluster-replicas "$replicas" --cluster-yes
