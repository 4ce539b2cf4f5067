#!/usr/bin/env bash
# Builds the test images as OCI image layout archives from Debian packages:
#   busybox-1.28.tar  -> docker.io/library/busybox:1.28 and busybox:latest
#   nginx-1.25.4.tar  -> docker.io/library/nginx:1.25.4
#   nginx-1.26.1.tar  -> docker.io/library/nginx:1.26.1
# The nginx images carry Debian's nginx binary with its shared-library closure (found with ldd)
# and a page that names the tag. Nothing is pulled from a container registry.
#
# Usage: images/build.sh [OUTDIR]   (default: <repo>/target/test-images)
# The output is cached: it is rebuilt only when this script changes. Safe to run concurrently.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/../target/test-images}
mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)
archives=(busybox-1.28.tar nginx-1.25.4.tar nginx-1.26.1.tar)

up_to_date() {
    [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] || return 1
    for a in "${archives[@]}"; do [ -s "$out/$a" ] || return 1; done
}

exec 9>"$out/.lock"
flock 9
if up_to_date; then
    exit 0
fi

# Tools and the libraries nginx links against (ldd resolves them on this host).
need=()
for p in python3 libcrypt1 libpcre2-8-0 libssl3 zlib1g; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
cd "$work"
# Download and unpack (not install: the nginx package would start a host service).
if ! apt-get download busybox-static nginx >/dev/null 2>&1; then
    apt-get update -qq
    apt-get download busybox-static nginx >/dev/null 2>&1
fi
dpkg-deb -x busybox-static_*.deb pkg-busybox
dpkg-deb -x nginx_*.deb pkg-nginx

# A base root filesystem: busybox with a symlink per applet, users, the usual directories.
base_rootfs() {
    local r=$1
    mkdir -p "$r"/{bin,sbin,etc,root,tmp,proc,sys,dev,run,var/tmp,usr/bin,usr/sbin,home}
    chmod 1777 "$r/tmp" "$r/var/tmp"
    chmod 700 "$r/root"
    cp pkg-busybox/bin/busybox "$r/bin/busybox"
    for app in $("$r/bin/busybox" --list); do
        [ "$app" = busybox ] || ln -sf busybox "$r/bin/$app"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
    : >"$r/etc/hosts"
    : >"$r/etc/resolv.conf"
    : >"$r/etc/hostname"
}

# nginx with its libraries, a foreground config on port 80 and a page naming the tag.
nginx_rootfs() {
    local r=$1 tag=$2
    base_rootfs "$r"
    install -D -m 755 pkg-nginx/usr/sbin/nginx "$r/usr/sbin/nginx"
    for lib in $(ldd pkg-nginx/usr/sbin/nginx | grep -o '/[^ ]*'); do
        install -D -m 755 "$(readlink -f "$lib")" "$r$lib"
        local real
        real=$(readlink -f "$lib")
        [ "$real" = "$lib" ] || install -D -m 755 "$real" "$r$real"
    done
    mkdir -p "$r/etc/nginx" "$r/usr/share/nginx/html" "$r/var/log/nginx" "$r/var/lib/nginx" "$r/var/cache/nginx"
    chmod 1777 "$r/var/log/nginx" "$r/var/lib/nginx" "$r/var/cache/nginx" "$r/run"
    cat >"$r/etc/nginx/nginx.conf" <<'EOF'
user nobody nogroup;
worker_processes 1;
error_log /dev/stderr notice;
pid /run/nginx.pid;
events { worker_connections 256; }
http {
    types { text/html html htm; text/plain txt; text/css css; application/json json; }
    default_type application/octet-stream;
    access_log /dev/stdout;
    server {
        listen 80 default_server;
        root /usr/share/nginx/html;
        index index.html;
        location / { try_files $uri $uri/ =404; }
    }
}
EOF
    printf '<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body><h1>Welcome to nginx!</h1><p>nginx %s</p></body></html>\n' "$tag" \
        >"$r/usr/share/nginx/html/index.html"
}

# oci_pack ROOTFS OUT.tar CONFIG_JSON REF... : one gzip layer, config, manifest, index.
oci_pack() {
    local rootfs=$1 archive=$2 config=$3
    shift 3
    local layout=$work/layout-$(basename "$archive" .tar)
    mkdir -p "$layout/blobs/sha256"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$work/layer.tar" .
    python3 - "$layout" "$work/layer.tar" "$config" "$@" <<'EOF'
import gzip, hashlib, json, os, sys
layout, layer_tar, config, refs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
blobs = os.path.join(layout, "blobs", "sha256")
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)
raw = open(layer_tar, "rb").read()
diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
layer_digest, layer_size = put(gzip.compress(raw, mtime=0))
config = {
    "created": "1970-01-01T00:00:00Z",
    "architecture": "amd64",
    "os": "linux",
    "config": config,
    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "images/build.sh"}],
}
config_digest, config_size = put(json.dumps(config, sort_keys=True).encode())
manifest = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}],
}
manifest_digest, manifest_size = put(json.dumps(manifest, sort_keys=True).encode())
index = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_size,
            "annotations": {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]},
        }
        for ref in refs
    ],
}
json.dump(index, open(os.path.join(layout, "index.json"), "w"), sort_keys=True)
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(layout, "oci-layout"), "w"))
EOF
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$layout" -cf "$archive.tmp" oci-layout index.json blobs
    mv "$archive.tmp" "$archive"
}

path_env='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'

base_rootfs "$work/busybox"
oci_pack "$work/busybox" "$out/busybox-1.28.tar" \
    "{\"Env\": [$path_env], \"Cmd\": [\"sh\"], \"WorkingDir\": \"/\"}" \
    docker.io/library/busybox:1.28 docker.io/library/busybox:latest

for tag in 1.25.4 1.26.1; do
    nginx_rootfs "$work/nginx-$tag" "$tag"
    oci_pack "$work/nginx-$tag" "$out/nginx-$tag.tar" \
        "{\"Env\": [$path_env, \"NGINX_VERSION=$tag\"], \"Cmd\": [\"nginx\", \"-g\", \"daemon off;\"], \"WorkingDir\": \"/\", \"ExposedPorts\": {\"80/tcp\": {}}, \"StopSignal\": \"SIGQUIT\"}" \
        "docker.io/library/nginx:$tag"
done

echo "$stamp" >"$out/.stamp"
echo "images/build.sh: built ${archives[*]} in $out" >&2
