// The page: sign-in, the namespace picker, one informer per kind of the namespace, rendering
// coalesced to one per animation frame, and the actions (each one ordinary API call).

import { ApiError, Informer, request, setToken, signOut, signedIn } from "./api.js";
import * as m from "./model.js";
import * as v from "./view.js";

const $ = (id) => document.getElementById(id);

/** The collections the page follows in the chosen namespace: name → path template. */
const KINDS = {
  statefulsets: "/apis/apps/v1/namespaces/NS/statefulsets",
  pods: "/api/v1/namespaces/NS/pods",
  pvcs: "/api/v1/namespaces/NS/persistentvolumeclaims",
  revisions: "/apis/apps/v1/namespaces/NS/controllerrevisions",
  events: "/api/v1/namespaces/NS/events",
  deployments: "/apis/apps/v1/namespaces/NS/deployments",
  replicasets: "/apis/apps/v1/namespaces/NS/replicasets",
  services: "/api/v1/namespaces/NS/services",
  slices: "/apis/discovery.k8s.io/v1/namespaces/NS/endpointslices",
};

const state = {
  ns: "",
  data: {}, // kind → Map(name → object)
  errors: {}, // kind → ApiError of its last failed request, while it fails
  loaded: new Set(), // kinds listed at least once
  informers: [],
  nsInformer: null,
  actionError: "",
};

function emptyData() {
  const d = {};
  for (const k of Object.keys(KINDS)) d[k] = new Map();
  return d;
}

/** The namespace in the address (`#ns=NAME`), else `default`. */
function nsFromHash() {
  const mt = /ns=([a-z0-9-]+)/.exec(location.hash);
  return mt ? mt[1] : "default";
}

let pending = false;
/** Renders at the next animation frame (many watch events make one render). */
function scheduleRender() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render();
  });
}

/** Follows every kind of namespace `ns` (stopping the previous namespace's informers). */
function follow(ns) {
  for (const i of state.informers) i.stop();
  state.ns = ns;
  state.data = emptyData();
  state.errors = {};
  state.loaded = new Set();
  $("ns").value = ns;
  state.informers = Object.entries(KINDS).map(([kind, path]) =>
    new Informer(
      path.replace("NS", encodeURIComponent(ns)),
      (items) => {
        state.data[kind] = items;
        state.loaded.add(kind);
        scheduleRender();
      },
      (err) => {
        if (err) state.errors[kind] = err;
        else delete state.errors[kind];
        scheduleRender();
      },
    ).start(),
  );
  scheduleRender();
}

/** Suggests the namespaces the user may list (quietly nothing when forbidden). */
function followNamespaces() {
  if (state.nsInformer) state.nsInformer.stop();
  state.nsInformer = new Informer(
    "/api/v1/namespaces",
    (items) => {
      $("ns-list").replaceChildren(...[...items.keys()].sort().map((n) => v.h("option", { value: n })));
    },
    () => {},
  ).start();
}

/** Re-renders the namespace's sections in place (see `morph`), keeping focus. */
function render() {
  const active = document.activeElement;
  const focusKey = active && active.closest && active.closest("[data-key]") ? active.closest("[data-key]").dataset.key : null;
  const focusAction = active && active.dataset && active.dataset.action ? active.dataset.action + "|" + (active.dataset.set || active.dataset.pod || "") + "|" + (active.dataset.revision || "") : null;

  // Errors: a failing collection shows the API's message; lost connections show once.
  const msgs = [];
  const lost = Object.values(state.errors).some((e) => e.status === 0);
  for (const kind of Object.keys(KINDS)) {
    const e = state.errors[kind];
    if (e && e.status !== 0) msgs.push(e.message);
  }
  if (lost) msgs.push("Connection to the server lost; reconnecting…");
  if (state.actionError) msgs.unshift(state.actionError);
  $("errors").replaceChildren(...msgs.map((t) => v.h("p", { class: "error" }, t)));
  $("live").textContent = lost ? "○ reconnecting" : Object.keys(state.errors).length ? "◐ partly live" : "● live";
  $("live").dataset.live = lost ? "no" : "yes";

  const d = state.data;
  const sets = [...d.statefulsets.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const setsBody = sets.length
    ? sets.map((s) => v.statefulSet(s, d))
    : [v.h("p", { class: "small" }, state.loaded.has("statefulsets") ? `No StatefulSets in ${state.ns}.` : "Loading…")];
  v.morph($("sets-body"), v.h("div", { id: "sets-body" }, setsBody));
  v.morph($("deps-body"), v.h("div", { id: "deps-body" }, v.deployments(m.deploymentsOf(d.deployments, d.replicasets))));
  v.morph($("svcs-body"), v.h("div", { id: "svcs-body" }, v.services(m.servicesOf(d.services, d.slices))));
  // morph() keeps most elements; focus moves to the same tile or button when one was replaced.
  if (document.activeElement !== active && focusAction) {
    const [action, target, rev] = focusAction.split("|");
    const btn = [...document.querySelectorAll(`button[data-action="${action}"]`)].find(
      (b) => (b.dataset.set || b.dataset.pod || "") === target && (b.dataset.revision || "") === rev,
    );
    if (btn) btn.focus();
  } else if (document.activeElement !== active && focusKey) {
    const el = document.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (el) el.focus();
  }
}

function toast(text) {
  $("toast").textContent = text;
}

/** Runs one action, showing its outcome or the API's error message. */
async function act(what, fn) {
  try {
    await fn();
    state.actionError = "";
    toast(what);
  } catch (e) {
    state.actionError = e instanceof ApiError ? e.message : String(e);
    toast("");
  }
  scheduleRender();
}

const base = () => `/apis/apps/v1/namespaces/${encodeURIComponent(state.ns)}/statefulsets/`;

/** Asks for confirmation in the page's modal dialog; resolves to true on "Delete". */
function confirmDialog(text) {
  const dlg = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.showModal();
    $("confirm-cancel").focus();
  });
}

const ACTIONS = {
  // `kubectl scale`: a merge patch of the scale subresource.
  scale: (b) => {
    const name = b.dataset.set;
    const input = document.querySelector(`input.replicas[data-set="${CSS.escape(name)}"]`);
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < 0) return act("", () => Promise.reject(new Error("replicas must be a whole number ≥ 0")));
    return act(`statefulset.apps/${name} scaled to ${n}`, async () => {
      await request("PATCH", base() + encodeURIComponent(name) + "/scale", { spec: { replicas: n } }, "application/merge-patch+json");
      delete input.dataset.typed; // applied: the field follows the set again
    });
  },
  // `kubectl rollout restart`: a new restartedAt annotation in the pod template.
  restart: (b) =>
    act(`statefulset.apps/${b.dataset.set} restarted`, () =>
      request("PATCH", base() + encodeURIComponent(b.dataset.set), m.restartPatch(), "application/strategic-merge-patch+json"),
    ),
  // `kubectl rollout undo --to-revision`: the revision's data (a patch replacing the pod
  // template) applied to the set as a strategic merge patch.
  rollback: (b) => {
    const rev = state.data.revisions.get(b.dataset.revision);
    return act(`statefulset.apps/${b.dataset.set} rolled back to revision ${rev ? rev.revision : "?"}`, () => {
      if (!rev) throw new Error(`revision ${b.dataset.revision} not found`);
      return request("PATCH", base() + encodeURIComponent(b.dataset.set), rev.data, "application/strategic-merge-patch+json");
    });
  },
  // `kubectl delete pod`, after a confirmation.
  "delete-pod": async (b) => {
    const pod = b.dataset.pod;
    if (!(await confirmDialog(`Delete pod ${pod} in ${state.ns}? The StatefulSet creates it again with the same name and claims.`))) return;
    return act(`pod "${pod}" deleted`, () => request("DELETE", `/api/v1/namespaces/${encodeURIComponent(state.ns)}/pods/${encodeURIComponent(pod)}`));
  },
};

/** Arrow keys, Home and End move between the tiles of a row. */
function onKey(e) {
  const tile = e.target.closest && e.target.closest(".tile");
  if (!tile || e.target !== tile) return;
  const tiles = [...tile.parentElement.querySelectorAll(":scope > .tile")];
  const i = tiles.indexOf(tile);
  const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: tiles.length - 1 }[e.key];
  if (to === undefined || !tiles[to]) return;
  e.preventDefault();
  tiles[to].focus();
}

/** Shows who the page acts as (SelfSubjectReview); a refused token goes back to sign-in. */
async function whoami() {
  try {
    const r = await request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
    });
    $("who").textContent = "signed in as " + r.status.userInfo.username;
    return true;
  } catch (e) {
    if (e.status === 401) {
      signOut();
      showSignIn(e.message);
      return false;
    }
    $("who").textContent = "signed in";
    return true;
  }
}

function showSignIn(message) {
  state.actionError = "";
  toast("");
  for (const i of state.informers) i.stop();
  if (state.nsInformer) state.nsInformer.stop();
  state.informers = [];
  $("main").hidden = true;
  $("nsbar").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("token").focus();
}

async function showMain() {
  $("signin").hidden = true;
  $("main").hidden = false;
  $("nsbar").hidden = false;
  if (!(await whoami())) return;
  followNamespaces();
  follow(nsFromHash());
}

function init() {
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    setToken($("token").value.trim());
    $("token").value = "";
    showMain();
  });
  $("cert").addEventListener("click", () => {
    setToken("");
    showMain();
  });
  $("signout").addEventListener("click", () => {
    signOut();
    showSignIn("");
  });
  $("ns-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const ns = $("ns").value.trim();
    if (!ns) return;
    location.hash = "ns=" + ns;
    follow(ns);
  });
  window.addEventListener("hashchange", () => {
    if (signedIn() && nsFromHash() !== state.ns) follow(nsFromHash());
  });
  $("main").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (b && ACTIONS[b.dataset.action]) ACTIONS[b.dataset.action](b);
  });
  $("main").addEventListener("keydown", onKey);
  // A replica count being typed is kept through re-renders until it is applied.
  $("main").addEventListener("input", (e) => {
    if (e.target.classList.contains("replicas")) e.target.dataset.typed = "1";
  });
  if (signedIn()) showMain();
  else showSignIn("");
}

init();
