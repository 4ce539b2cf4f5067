// What the page shows, computed from API objects: pure functions, no DOM and no requests.

/** Sets larger than this show contiguous ordinals in the same state as one range tile. */
export const COLLAPSE_ABOVE = 100;

/** Whether `o` is controlled by the object with uid `uid`. */
export function controlledBy(o, uid) {
  return (o.metadata.ownerReferences || []).some((r) => r.controller && r.uid === uid);
}

/** The ordinal of a StatefulSet's pod (`web-3` of set `web` → 3), or -1. */
export function ordinalOf(setName, podName) {
  if (!podName.startsWith(setName + "-")) return -1;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : -1;
}

/** Age as kubectl prints it (`45s`, `12m`, `3h`, `2d`). */
export function age(ts, now = Date.now()) {
  if (!ts) return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return s + "s";
  if (s < 3600 * 3) return Math.floor(s / 60) + "m";
  if (s < 86400 * 2) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}

function condition(pod, type) {
  return ((pod.status && pod.status.conditions) || []).find((c) => c.type === type);
}

/**
 * A pod's state for its tile: `key` picks the colour, `text` says it in words (never colour
 * alone). Pods being deleted are "terminating", pods not yet running "pending".
 */
export function podState(pod) {
  if (!pod) return { key: "missing", text: "not created" };
  const st = pod.status || {};
  if (pod.metadata.deletionTimestamp) return { key: "terminating", text: "Terminating" };
  const waiting = (st.containerStatuses || []).map((c) => c.state && c.state.waiting).find(Boolean);
  switch (st.phase) {
    case "Running": {
      const ready = condition(pod, "Ready");
      if (ready && ready.status === "True") return { key: "ready", text: "Running, ready" };
      if (waiting && waiting.reason) return { key: "failed", text: waiting.reason };
      return { key: "unready", text: "Running, not ready" };
    }
    case "Succeeded":
      return { key: "done", text: "Completed" };
    case "Failed":
      return { key: "failed", text: "Failed" + (st.reason ? ": " + st.reason : "") };
    case "Pending":
    case undefined: {
      const reason = (waiting && waiting.reason) || (pod.spec.nodeName ? "ContainerCreating" : "Pending");
      return { key: "pending", text: reason };
    }
    default:
      return { key: "unknown", text: st.phase };
  }
}

/** Restarts summed over the pod's containers. */
export function restarts(pod) {
  return ((pod && pod.status && pod.status.containerStatuses) || []).reduce((n, c) => n + (c.restartCount || 0), 0);
}

/** `<pod>.<serviceName>.<ns>.svc.cluster.local`, the pod's stable DNS name. */
export function dnsName(set, podName) {
  if (!set.spec.serviceName) return "";
  return `${podName}.${set.spec.serviceName}.${set.metadata.namespace}.svc.cluster.local`;
}

/**
 * Which revision a pod runs: "update" (status.updateRevision), "current"
 * (status.currentRevision, during a rollout the old one) or "other".
 */
export function revisionKind(set, hash) {
  const st = set.status || {};
  if (hash && hash === st.updateRevision) return "update";
  if (hash && hash === st.currentRevision) return "current";
  return "other";
}

/** The short hash of a revision name (`web-6d4b8f7c9` → `6d4b8f7c9`). */
export function shortRev(set, rev) {
  if (!rev) return "";
  const p = set.metadata.name + "-";
  return rev.startsWith(p) ? rev.slice(p.length) : rev;
}

/** The claims of pod `podName` from the set's volumeClaimTemplates, with capacity and phase. */
export function claimsOf(set, podName, pvcs) {
  return (set.spec.volumeClaimTemplates || []).map((t) => {
    const name = `${t.metadata.name}-${podName}`;
    const pvc = pvcs.get(name);
    const capacity =
      (pvc && pvc.status && pvc.status.capacity && pvc.status.capacity.storage) ||
      (t.spec.resources && t.spec.resources.requests && t.spec.resources.requests.storage) ||
      "";
    return { name, capacity, phase: pvc ? (pvc.metadata.deletionTimestamp ? "Terminating" : (pvc.status && pvc.status.phase) || "Pending") : "not created" };
  });
}

/**
 * The tiles of a set: one per ordinal from 0 to the larger of `spec.replicas` and the highest
 * existing pod, so pods being created (missing or Pending) and pods being removed above the
 * replica count (terminating) show in between.
 */
export function tilesOf(set, pods, pvcs) {
  const byOrdinal = new Map();
  for (const p of pods.values()) {
    if (!controlledBy(p, set.metadata.uid)) continue;
    const i = ordinalOf(set.metadata.name, p.metadata.name);
    if (i >= 0) byOrdinal.set(i, p);
  }
  const replicas = set.spec.replicas ?? 1;
  const start = (set.spec.ordinals && set.spec.ordinals.start) || 0;
  let end = start + replicas;
  for (const i of byOrdinal.keys()) end = Math.max(end, i + 1);
  const tiles = [];
  for (let i = start; i < end; i++) {
    const pod = byOrdinal.get(i);
    const name = `${set.metadata.name}-${i}`;
    const hash = pod ? (pod.metadata.labels || {})["controller-revision-hash"] : "";
    const state = podState(pod);
    tiles.push({
      ordinal: i,
      name,
      pod,
      state,
      surplus: i >= start + replicas,
      rev: hash,
      revKind: pod ? revisionKind(set, hash) : "none",
      restarts: restarts(pod),
      ip: pod && pod.status ? pod.status.podIP || "" : "",
      node: pod ? pod.spec.nodeName || "" : "",
      dns: dnsName(set, name),
      claims: claimsOf(set, name, pvcs),
    });
  }
  return tiles;
}

/**
 * Tiles as shown: unchanged up to COLLAPSE_ABOVE, else contiguous ordinals with the same state
 * and revision merged into range tiles `{range: true, from, to, count, state, revKind, rev}`.
 */
export function collapse(tiles, above = COLLAPSE_ABOVE) {
  if (tiles.length <= above) return tiles;
  const out = [];
  for (const t of tiles) {
    const last = out[out.length - 1];
    if (last && last.range && last.state.key === t.state.key && last.state.text === t.state.text && last.rev === t.rev && last.to === t.ordinal - 1) {
      last.to = t.ordinal;
      last.count++;
      last.restarts += t.restarts;
    } else {
      out.push({ range: true, from: t.ordinal, to: t.ordinal, count: 1, state: t.state, revKind: t.revKind, rev: t.rev, restarts: t.restarts, name: t.name });
    }
  }
  return out;
}

/** Rollout figures of a set, from its status, and its partition. */
export function rollout(set) {
  const st = set.status || {};
  const strategy = set.spec.updateStrategy || {};
  return {
    replicas: set.spec.replicas ?? 1,
    current: st.replicas || 0,
    ready: st.readyReplicas || 0,
    updated: st.updatedReplicas || 0,
    available: st.availableReplicas || 0,
    currentRevision: st.currentRevision || "",
    updateRevision: st.updateRevision || "",
    strategy: strategy.type || "RollingUpdate",
    partition: (strategy.rollingUpdate && strategy.rollingUpdate.partition) || 0,
    done: st.updateRevision && st.currentRevision === st.updateRevision && (st.readyReplicas || 0) === (set.spec.replicas ?? 1),
  };
}

/** Images of a pod template, `name=image` joined. */
export function imagesOf(template) {
  const cs = (template && template.spec && template.spec.containers) || [];
  return cs.map((c) => `${c.name}=${c.image}`).join(", ");
}

/**
 * The set's revision history as `kubectl rollout history` lists it: the ControllerRevisions it
 * controls, oldest first, each with its change cause and images.
 */
export function historyOf(set, revisions) {
  return [...revisions.values()]
    .filter((r) => controlledBy(r, set.metadata.uid))
    .sort((a, b) => a.revision - b.revision)
    .map((r) => {
      const template = r.data && r.data.spec && r.data.spec.template;
      return {
        name: r.metadata.name,
        revision: r.revision,
        cause: ((r.metadata.annotations || {})["kubernetes.io/change-cause"]) || "",
        images: imagesOf(template),
        kind: revisionKind(set, r.metadata.name),
        data: r.data,
      };
    });
}

function eventTime(e) {
  return e.lastTimestamp || e.eventTime || (e.series && e.series.lastObservedTime) || e.firstTimestamp || e.metadata.creationTimestamp;
}

/**
 * Recent events of the set and of its pods (by name), newest last as `kubectl describe` lists
 * them, at most `limit`.
 */
export function eventsOf(set, events, limit = 15) {
  const name = set.metadata.name;
  return [...events.values()]
    .filter((e) => {
      const o = e.involvedObject || e.regarding || {};
      if (o.kind === "StatefulSet") return o.name === name;
      if (o.kind === "Pod") return ordinalOf(name, o.name) >= 0;
      // A claim is `<template>-<set>-<ordinal>`.
      if (o.kind === "PersistentVolumeClaim") return /-\d+$/.test(o.name) && o.name.replace(/-\d+$/, "").endsWith("-" + name);
      return false;
    })
    .sort((a, b) => Date.parse(eventTime(a)) - Date.parse(eventTime(b)))
    .slice(-limit)
    .map((e) => ({
      type: e.type || "Normal",
      reason: e.reason || "",
      time: eventTime(e),
      count: e.count || 1,
      from: (e.source && e.source.component) || e.reportingComponent || "",
      object: `${(e.involvedObject || {}).kind}/${(e.involvedObject || {}).name}`,
      message: e.message || "",
    }));
}

/** Deployments with the ReplicaSets each controls (newest first). */
export function deploymentsOf(deployments, replicasets) {
  return [...deployments.values()]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((d) => ({
      d,
      rss: [...replicasets.values()]
        .filter((rs) => controlledBy(rs, d.metadata.uid))
        .sort((a, b) => Number((b.metadata.annotations || {})["deployment.kubernetes.io/revision"] || 0) - Number((a.metadata.annotations || {})["deployment.kubernetes.io/revision"] || 0)),
    }));
}

/** Services with their endpoints from the EndpointSlices labelled with their name. */
export function servicesOf(services, slices) {
  return [...services.values()]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((s) => {
      const endpoints = [];
      for (const sl of slices.values()) {
        if ((sl.metadata.labels || {})["kubernetes.io/service-name"] !== s.metadata.name) continue;
        const ports = (sl.ports || []).map((p) => p.port).filter(Boolean);
        for (const ep of sl.endpoints || []) {
          for (const a of ep.addresses || []) {
            endpoints.push({
              address: a,
              ports,
              ready: !ep.conditions || ep.conditions.ready !== false,
              target: (ep.targetRef && ep.targetRef.name) || ep.hostname || "",
            });
          }
        }
      }
      endpoints.sort((a, b) => a.target.localeCompare(b.target, undefined, { numeric: true }));
      return { s, endpoints };
    });
}

/** The strategic merge patch `kubectl rollout restart` sends. */
export function restartPatch(now = new Date()) {
  const at = now.toISOString().replace(/\.\d+Z$/, "Z");
  return { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": at } } } } };
}
