#!/usr/bin/env bash
# Installs the Debian packages ordo needs to build and test (idempotent; run as root).
set -euo pipefail
need=()
command -v protoc >/dev/null || need+=(protobuf-compiler)   # etcd-client's build script
command -v etcd >/dev/null || need+=(etcd-server)            # the etcd store engine and its tests
command -v runc >/dev/null || need+=(runc)                   # real pods
command -v nft >/dev/null || need+=(nftables)               # the service proxy (ClusterIPs, NodePorts)
command -v curl >/dev/null || need+=(curl)
command -v ip >/dev/null || need+=(iproute2)             # test clean-up of pod networks
command -v cc >/dev/null || need+=(build-essential)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
