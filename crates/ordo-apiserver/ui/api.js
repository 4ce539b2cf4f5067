// The page's only way to the cluster: ordinary Kubernetes API requests with the signed-in
// identity. A bearer token entered on the sign-in form is kept in sessionStorage (gone when the
// tab closes) and sent as `Authorization: Bearer`; without one, the browser's client
// certificate (if it presents one) authenticates the TLS connection, as for kubectl.

const TOKEN_KEY = "ordo.token";

/** The bearer token of this tab, or "" (client certificate or anonymous). */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

/** Keeps `t` as this tab's token ("" for a client certificate). */
export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

/** Whether the user signed in in this tab (with a token or with a certificate). */
export function signedIn() {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

/** Forgets the token. */
export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An API error: the HTTP status and the `message` of the API's Status object. */
export class ApiError extends Error {
  constructor(status, message, reason) {
    super(message);
    this.status = status;
    this.reason = reason || "";
  }
}

function headers(contentType) {
  const h = { Accept: "application/json" };
  const t = token();
  if (t) h.Authorization = "Bearer " + t;
  if (contentType) h["Content-Type"] = contentType;
  return h;
}

/** The ApiError for a failed response, from its Status body when it has one. */
async function errorOf(resp) {
  const text = await resp.text();
  let status = null;
  try {
    status = JSON.parse(text);
  } catch (_) {
    // not JSON: the text itself is the message
  }
  const message = (status && status.message) || text || resp.statusText || "HTTP " + resp.status;
  return new ApiError(resp.status, message, status && status.reason);
}

/**
 * One API request; resolves to the decoded JSON body, rejects with an ApiError.
 * `body` is sent as JSON with `contentType` (a patch type for PATCH).
 */
export async function request(method, path, body, contentType) {
  const init = { method, headers: headers(body === undefined ? null : contentType || "application/json"), cache: "no-store" };
  if (body !== undefined) init.body = JSON.stringify(body);
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "cannot reach the server: " + e.message);
  }
  if (!resp.ok) throw await errorOf(resp);
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows one collection as a client-go informer does: LIST, then WATCH from the list's
 * resourceVersion (JSON lines, with bookmarks), applying each event to `items` (name → object).
 * On 410 Gone it lists again; on a lost connection or an error it retries with a growing delay
 * (so the page survives a server restart). No polling: between changes nothing is sent.
 *
 * `onChange(items)` runs after the list and after each event; `onStatus(error|null)` tells
 * whether the collection is live.
 */
export class Informer {
  constructor(path, onChange, onStatus) {
    this.path = path;
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.items = new Map();
    this.rv = "";
    this.stopped = false;
    this.abort = null;
  }

  start() {
    this.run();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.abort) this.abort.abort();
  }

  async run() {
    let delay = 250;
    while (!this.stopped) {
      try {
        const list = await request("GET", this.path);
        if (this.stopped) return;
        this.items = new Map();
        for (const o of list.items || []) this.items.set(o.metadata.name, o);
        this.rv = list.metadata.resourceVersion;
        this.onChange(this.items);
        this.onStatus(null);
        delay = 250;
        // Watch until the history is gone (410) or the connection ends; a watch that the
        // server closed normally is resumed from the last resourceVersion seen.
        while (!this.stopped && (await this.watch()) !== "expired") {
          // resumed
        }
      } catch (e) {
        if (this.stopped) return;
        this.onStatus(e instanceof ApiError ? e : new ApiError(0, "connection lost: " + e.message));
        await sleep(delay);
        // Forbidden and unauthorized answers do not change by retrying fast.
        delay = Math.min(delay * 2, e.status === 403 || e.status === 401 ? 30000 : 8000);
      }
    }
  }

  /** One watch request; resolves to "expired" or "ended", rejects on errors. */
  async watch() {
    this.abort = new AbortController();
    const sep = this.path.includes("?") ? "&" : "?";
    const url = `${this.path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(this.rv)}`;
    const resp = await fetch(url, { headers: headers(null), signal: this.abort.signal, cache: "no-store" });
    if (resp.status === 410) return "expired";
    if (!resp.ok) throw await errorOf(resp);
    this.onStatus(null);
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return "ended";
      buf += decoder.decode(value, { stream: true });
      let nl;
      let changed = false;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const r = this.apply(JSON.parse(line));
        if (r === "expired") {
          this.abort.abort();
          return "expired";
        }
        changed = changed || r === "changed";
      }
      if (changed) this.onChange(this.items);
    }
  }

  /** Applies one watch event to the items. */
  apply(ev) {
    const o = ev.object || {};
    if (ev.type === "ERROR") {
      if (o.code === 410) return "expired";
      throw new ApiError(o.code || 500, o.message || "watch error", o.reason);
    }
    if (o.metadata && o.metadata.resourceVersion) this.rv = o.metadata.resourceVersion;
    if (ev.type === "BOOKMARK") return "bookmark";
    if (ev.type === "DELETED") this.items.delete(o.metadata.name);
    else this.items.set(o.metadata.name, o);
    return "changed";
  }
}
