// DOM builders: each takes model values and returns elements. Text goes in through textContent
// only (never innerHTML), so nothing from the cluster can inject markup. Buttons carry
// `data-action` and the names they act on; app.js handles their clicks.

import * as m from "./model.js";

/** `h("li", {class: "x", "aria-label": "y"}, child, "text", ...)`. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** A small table: `head` strings, `rows` arrays of cells (strings or elements). */
function table(caption, head, rows, cls) {
  return h(
    "table",
    { class: cls || "grid" },
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
  );
}

const REV_WORDS = { update: "update revision", current: "current revision", other: "older revision", none: "" };

/** One pod tile: ordinal, state in words, revision (and its change cause), address, node, DNS name, claims. */
function podTile(set, t, causes) {
  const cause = causes.get(t.rev) || "";
  const words = [
    t.name,
    t.state.text,
    t.rev ? `revision ${m.shortRev(set, t.rev)} (${REV_WORDS[t.revKind]})` : "",
    cause ? `change cause: ${cause}` : "",
    t.pod ? `restarts ${t.restarts}` : "",
    t.ip ? `IP ${t.ip}` : "",
    t.node ? `node ${t.node}` : "",
    t.dns ? `DNS name ${t.dns}` : "",
    ...t.claims.map((c) => `claim ${c.name} ${c.capacity} ${c.phase}`),
    t.surplus ? "above the replica count" : "",
  ].filter(Boolean);
  const claims = t.claims.map((c) => h("li", {}, `${c.name} ${c.capacity} ${c.phase}`));
  return h(
    "li",
    {
      class: `tile st-${t.state.key} rev-${t.revKind}`,
      tabindex: 0,
      "data-key": `${set.metadata.name}/${t.ordinal}`,
      "data-ordinal": t.ordinal,
      "data-state": t.state.key,
      "data-rev": t.rev || "",
      "data-rev-kind": t.revKind,
      "aria-label": words.join(", "),
    },
    h("div", { class: "tile-head" }, h("span", { class: "ord" }, `#${t.ordinal}`), h("span", { class: "state" }, t.state.text)),
    t.rev ? h("div", { class: "rev", title: cause || null }, `rev ${m.shortRev(set, t.rev)}`, h("span", { class: "revkind" }, ` ${t.revKind}`)) : null,
    t.pod ? h("div", { class: "small" }, `${t.ip || "no IP"} · ${t.node || "unscheduled"} · restarts ${t.restarts}`) : null,
    t.dns ? h("div", { class: "dns small", title: t.dns }, t.dns) : null,
    claims.length ? h("ul", { class: "claims small", "aria-label": "claims" }, claims) : null,
    t.pod && !t.pod.metadata.deletionTimestamp
      ? h("button", { type: "button", class: "del", "data-action": "delete-pod", "data-pod": t.name, "aria-label": `Delete pod ${t.name}` }, "Delete")
      : null,
  );
}

/** A range tile: contiguous ordinals in the same state and revision (large sets). */
function rangeTile(set, r) {
  const label = r.from === r.to ? `#${r.from}` : `#${r.from}–${r.to}`;
  const rev = r.rev ? `revision ${m.shortRev(set, r.rev)} (${REV_WORDS[r.revKind]})` : "";
  return h(
    "li",
    {
      class: `tile range st-${r.state.key} rev-${r.revKind}`,
      tabindex: 0,
      "data-key": `${set.metadata.name}/${r.from}`,
      "data-ordinal": r.from,
      "data-to": r.to,
      "data-state": r.state.key,
      "data-rev": r.rev || "",
      "data-rev-kind": r.revKind,
      "aria-label": `ordinals ${r.from} to ${r.to}, ${r.count} pods, ${r.state.text}${rev ? ", " + rev : ""}, restarts ${r.restarts}`,
    },
    h("div", { class: "tile-head" }, h("span", { class: "ord" }, label), h("span", { class: "state" }, r.state.text)),
    h("div", { class: "small" }, `${r.count} pods · restarts ${r.restarts}`),
    r.rev ? h("div", { class: "rev" }, `rev ${m.shortRev(set, r.rev)}`, h("span", { class: "revkind" }, ` ${r.revKind}`)) : null,
  );
}

/** The partition line: ordinals at or above it get the update revision. */
function partitionLine(p) {
  return h("li", { class: "partition", role: "separator", "aria-label": `partition ${p}: ordinals ${p} and above are updated` }, `partition ${p}`);
}

/** The row of tiles of a set, with the partition line where it falls. */
function tileRow(set, tiles, partition, causes) {
  const shown = m.collapse(tiles);
  const items = [];
  let placed = partition <= 0;
  for (const t of shown) {
    const first = t.range ? t.from : t.ordinal;
    if (!placed && first >= partition) {
      items.push(partitionLine(partition));
      placed = true;
    }
    items.push(t.range ? rangeTile(set, t) : podTile(set, t, causes));
  }
  return h("ol", { class: "tiles", "aria-label": `pods of ${set.metadata.name} by ordinal${shown !== tiles ? ", collapsed into ranges" : ""}` }, items);
}

/** The rollout figures with a progress bar. */
function progress(set, r) {
  const total = Math.max(r.replicas, 1);
  return h(
    "div",
    { class: "progress" },
    h("progress", { max: total, value: Math.min(r.updated, total), "aria-label": "updated replicas" }),
    h(
      "span",
      { class: "figures" },
      `${r.ready}/${r.replicas} ready · ${r.updated}/${r.replicas} updated · ${r.strategy}` +
        (r.partition ? ` · partition ${r.partition}` : "") +
        ` · current ${m.shortRev(set, r.currentRevision) || "-"} · update ${m.shortRev(set, r.updateRevision) || "-"}` +
        (r.done ? " · rollout complete" : ""),
    ),
  );
}

/** The actions of a set: scale to a number, restart. */
function actions(set) {
  const name = set.metadata.name;
  const id = `scale-${name}`;
  return h(
    "div",
    { class: "actions" },
    h("label", { for: id }, "Replicas"),
    h("input", { id, type: "number", min: 0, value: set.spec.replicas ?? 1, class: "replicas", "data-set": name }),
    h("button", { type: "button", "data-action": "scale", "data-set": name }, "Scale"),
    h("button", { type: "button", "data-action": "restart", "data-set": name }, "Restart"),
  );
}

/** The revision history with a roll-back button for each revision not being rolled out. */
function history(set, revs) {
  const rows = revs.map((r) => [
    String(r.revision),
    m.shortRev(set, r.name),
    r.kind === "other" ? "" : r.kind,
    r.images,
    r.cause || "<none>",
    r.kind === "update"
      ? ""
      : h("button", { type: "button", "data-action": "rollback", "data-set": set.metadata.name, "data-revision": r.name }, `Roll back to ${r.revision}`),
  ]);
  return table("Revision history", ["REVISION", "HASH", "", "IMAGES", "CHANGE-CAUSE", ""], rows, "grid history");
}

/** Recent events as `kubectl describe` lists them. */
function events(evs) {
  if (!evs.length) return h("p", { class: "small" }, "Events: <none>");
  const rows = evs.map((e) => [e.type, e.reason, `${m.age(e.time)}${e.count > 1 ? ` (x${e.count})` : ""}`, e.from, e.object, e.message]);
  return table("Events", ["Type", "Reason", "Age", "From", "Object", "Message"], rows, "grid events");
}

/** One StatefulSet: header, rollout, actions, tiles, history and events. */
export function statefulSet(set, data) {
  const r = m.rollout(set);
  const tiles = m.tilesOf(set, data.pods, data.pvcs);
  const revs = m.historyOf(set, data.revisions);
  const causes = new Map(revs.map((x) => [x.name, x.cause]));
  return h(
    "section",
    { class: "sts", "data-set": set.metadata.name, "aria-labelledby": `h-${set.metadata.name}` },
    h("h3", { id: `h-${set.metadata.name}` }, `StatefulSet ${set.metadata.name}`, h("span", { class: "small" }, ` service ${set.spec.serviceName || "-"} · ${m.imagesOf(set.spec.template)}`)),
    progress(set, r),
    actions(set),
    tileRow(set, tiles, r.partition, causes),
    h("details", { open: true }, h("summary", {}, "History and events"), history(set, revs), events(m.eventsOf(set, data.events))),
  );
}

/** Deployments with their ReplicaSets, for contrast. */
export function deployments(list) {
  if (!list.length) return h("p", { class: "small" }, "No Deployments.");
  return list.map(({ d, rss }) =>
    table(
      `Deployment ${d.metadata.name}: ${(d.status && d.status.readyReplicas) || 0}/${d.spec.replicas ?? 1} ready`,
      ["ReplicaSet", "Revision", "Desired", "Ready", "Images"],
      rss.map((rs) => [
        rs.metadata.name,
        (rs.metadata.annotations || {})["deployment.kubernetes.io/revision"] || "",
        String(rs.spec.replicas ?? 0),
        String((rs.status && rs.status.readyReplicas) || 0),
        m.imagesOf(rs.spec.template),
      ]),
    ),
  );
}

/** At most this many endpoints of a Service are listed one by one. */
const ENDPOINTS_LISTED = 20;

/** A Service's endpoints; past ENDPOINTS_LISTED the rest are counted. */
function endpointList(endpoints) {
  const items = endpoints
    .slice(0, ENDPOINTS_LISTED)
    .map((e) => h("li", { class: e.ready ? "ep" : "ep notready" }, `${e.address}${e.ports.length ? ":" + e.ports.join(",") : ""} ${e.target}${e.ready ? "" : " (not ready)"}`));
  const rest = endpoints.slice(ENDPOINTS_LISTED);
  if (rest.length) {
    const ready = rest.filter((e) => e.ready).length;
    items.push(h("li", { class: "ep more" }, `… and ${rest.length} more (${ready} ready)`));
  }
  return h("ul", { class: "eps", "aria-label": `${endpoints.length} endpoints` }, items);
}

/** Services with their endpoints. */
export function services(list) {
  if (!list.length) return h("p", { class: "small" }, "No Services.");
  const rows = list.map(({ s, endpoints }) => [
    s.metadata.name,
    s.spec.type || "ClusterIP",
    s.spec.clusterIP || "",
    (s.spec.ports || []).map((p) => `${p.port}/${p.protocol || "TCP"}`).join(","),
    endpoints.length ? endpointList(endpoints) : "<none>",
  ]);
  return table("Services", ["Name", "Type", "Cluster-IP", "Ports", "Endpoints"], rows);
}

/**
 * Updates `old` in place to look like `neu` (a freshly built copy), touching only what differs,
 * so that focus, a number being typed and a button being clicked survive a watch event. Extra or
 * missing trailing children are appended or removed (tiles are in ordinal order). The user's
 * choice to open or close a <details>, and a replica count typed but not yet applied, are kept.
 */
export function morph(old, neu) {
  if (old.isEqualNode(neu)) return;
  if (old.nodeType !== neu.nodeType || old.nodeName !== neu.nodeName || old.nodeType !== Node.ELEMENT_NODE) {
    if (old.nodeType === Node.TEXT_NODE && neu.nodeType === Node.TEXT_NODE) old.textContent = neu.textContent;
    else old.replaceWith(neu);
    return;
  }
  // The user's state: whether a <details> is open, and `data-typed` on a field being edited.
  const kept = (name) => (name === "open" && old.nodeName === "DETAILS") || name === "data-typed";
  for (const a of [...old.attributes]) {
    if (!neu.hasAttribute(a.name) && !kept(a.name)) old.removeAttribute(a.name);
  }
  for (const a of [...neu.attributes]) {
    if (kept(a.name)) continue;
    if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
  }
  if (old.nodeName === "PROGRESS") old.value = neu.value;
  // A number field shows the live value unless the user typed in it (app.js marks it).
  if (old.nodeName === "INPUT" && !old.hasAttribute("data-typed") && old.value !== neu.getAttribute("value")) old.value = neu.getAttribute("value");
  const oc = [...old.childNodes];
  const nc = [...neu.childNodes];
  for (let i = 0; i < Math.min(oc.length, nc.length); i++) morph(oc[i], nc[i]);
  for (let i = nc.length; i < oc.length; i++) oc[i].remove();
  for (let i = oc.length; i < nc.length; i++) old.append(nc[i]);
}
