// Unit tests of the web view's pure functions (crates/ordo-apiserver/ui/model.js) with Node's
// test runner; run by crates/ordo/tests/ui_browser.rs (`node --experimental-detect-module --test`).

import test from "node:test";
import assert from "node:assert/strict";
import * as m from "../../../ordo-apiserver/ui/model.js";

const SET_UID = "u-set";

function set(extra = {}) {
  return {
    metadata: { name: "web", namespace: "default", uid: SET_UID },
    spec: {
      replicas: 3,
      serviceName: "nginx",
      template: { spec: { containers: [{ name: "nginx", image: "nginx:1.25.4" }] } },
      volumeClaimTemplates: [{ metadata: { name: "www" }, spec: { resources: { requests: { storage: "1Gi" } } } }],
      ...extra.spec,
    },
    status: { currentRevision: "web-old", updateRevision: "web-new", replicas: 3, readyReplicas: 2, updatedReplicas: 1, ...extra.status },
  };
}

function pod(i, { phase = "Running", ready = true, rev = "web-new", deleting = false, owner = SET_UID } = {}) {
  return {
    metadata: {
      name: `web-${i}`,
      labels: { "controller-revision-hash": rev },
      ownerReferences: [{ controller: true, uid: owner }],
      ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
    },
    spec: { nodeName: "vm" },
    status: {
      phase,
      podIP: `10.0.0.${i}`,
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      containerStatuses: [{ restartCount: i }],
    },
  };
}

const byName = (list) => new Map(list.map((o) => [o.metadata.name, o]));

test("ordinals are parsed strictly", () => {
  assert.equal(m.ordinalOf("web", "web-12"), 12);
  assert.equal(m.ordinalOf("web", "web-012"), -1);
  assert.equal(m.ordinalOf("web", "webx-1"), -1);
  assert.equal(m.ordinalOf("web", "web-a"), -1);
});

test("pod states say their colour in words", () => {
  assert.deepEqual(m.podState(undefined), { key: "missing", text: "not created" });
  assert.equal(m.podState(pod(0)).text, "Running, ready");
  assert.equal(m.podState(pod(0, { ready: false })).key, "unready");
  assert.equal(m.podState(pod(0, { deleting: true })).text, "Terminating");
  assert.equal(m.podState(pod(0, { phase: "Pending" })).text, "ContainerCreating");
});

test("tiles run from 0 to the replica count, with missing, surplus and foreign pods", () => {
  const pods = byName([pod(0), pod(2, { rev: "web-old" }), pod(4, { deleting: true }), pod(1, { owner: "other" })]);
  const pvcs = byName([{ metadata: { name: "www-web-0" }, status: { phase: "Bound", capacity: { storage: "1Gi" } } }]);
  const tiles = m.tilesOf(set(), pods, pvcs);
  assert.deepEqual(tiles.map((t) => [t.ordinal, t.state.key, t.revKind, t.surplus]), [
    [0, "ready", "update", false],
    [1, "missing", "none", false], // web-1 belongs to another controller
    [2, "ready", "current", false],
    [3, "missing", "none", true],
    [4, "terminating", "update", true],
  ]);
  assert.equal(tiles[0].dns, "web-0.nginx.default.svc.cluster.local");
  assert.deepEqual(tiles[0].claims, [{ name: "www-web-0", capacity: "1Gi", phase: "Bound" }]);
  assert.deepEqual(tiles[1].claims, [{ name: "www-web-1", capacity: "1Gi", phase: "not created" }]);
  assert.equal(tiles[2].restarts, 2);
});

test("large sets collapse contiguous like tiles into ranges", () => {
  const s = set({ spec: { replicas: 150 } });
  const pods = byName(Array.from({ length: 150 }, (_, i) => pod(i, { ready: i < 60 || i > 69, rev: i >= 100 ? "web-new" : "web-old" })));
  const tiles = m.tilesOf(s, pods, new Map());
  assert.equal(m.collapse(tiles.slice(0, 100)).length, 100, "not collapsed up to 100");
  const ranges = m.collapse(tiles).map((r) => [r.from, r.to, r.state.key, r.revKind]);
  assert.deepEqual(ranges, [
    [0, 59, "ready", "current"],
    [60, 69, "unready", "current"],
    [70, 99, "ready", "current"],
    [100, 149, "ready", "update"],
  ]);
});

test("history is the set's revisions in order with change causes", () => {
  const rev = (name, n, uid, cause) => ({
    metadata: { name, ownerReferences: [{ controller: true, uid }], annotations: cause ? { "kubernetes.io/change-cause": cause } : {} },
    revision: n,
    data: { spec: { template: { spec: { containers: [{ name: "nginx", image: `nginx:${n}` }] } } } },
  });
  const h = m.historyOf(set(), byName([rev("web-new", 2, SET_UID, "upgrade"), rev("web-old", 1, SET_UID), rev("x-1", 1, "other")]));
  assert.deepEqual(h.map((r) => [r.revision, r.kind, r.cause, r.images]), [
    [1, "current", "", "nginx=nginx:1"],
    [2, "update", "upgrade", "nginx=nginx:2"],
  ]);
});

test("events of the set, its pods and claims, oldest first", () => {
  const ev = (name, kind, obj, t) => ({ metadata: { name }, involvedObject: { kind, name: obj }, lastTimestamp: t, reason: name, message: "" });
  const evs = byName([
    ev("b", "Pod", "web-1", "2026-01-01T00:00:02Z"),
    ev("a", "StatefulSet", "web", "2026-01-01T00:00:01Z"),
    ev("c", "PersistentVolumeClaim", "www-web-0", "2026-01-01T00:00:03Z"),
    ev("x", "Pod", "webby-1", "2026-01-01T00:00:00Z"),
    ev("y", "StatefulSet", "other", "2026-01-01T00:00:00Z"),
  ]);
  assert.deepEqual(m.eventsOf(set(), evs).map((e) => e.reason), ["a", "b", "c"]);
});

test("restart patch is kubectl rollout restart's, in RFC 3339 seconds", () => {
  const p = m.restartPatch(new Date("2026-12-08T03:04:05.678Z"));
  assert.deepEqual(p, { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-12-08T03:04:05Z" } } } } });
});

test("services list their EndpointSlices' endpoints", () => {
  const svc = { metadata: { name: "nginx" }, spec: {} };
  const slice = {
    metadata: { name: "nginx-abc", labels: { "kubernetes.io/service-name": "nginx" } },
    ports: [{ port: 80 }],
    endpoints: [
      { addresses: ["10.0.0.2"], conditions: { ready: false }, targetRef: { name: "web-10" } },
      { addresses: ["10.0.0.1"], conditions: { ready: true }, targetRef: { name: "web-2" } },
    ],
  };
  const [s] = m.servicesOf(byName([svc]), byName([slice]));
  assert.deepEqual(s.endpoints.map((e) => [e.target, e.ready]), [["web-2", true], ["web-10", false]]);
});
