// Drives Debian's Chromium (headless, through playwright-core) through the ordo web view, as
// crates/ordo/tests/ui_browser.rs runs it. Every step checks what the page shows and what kubectl
// sees; the first failure exits non-zero. Results the Rust test checks again are printed as
// `RESULT <name> <json>` lines. Screenshots of each step go to $SCREENSHOTS.
//
// Environment: ORDO_URL (https://127.0.0.1:PORT/ui/), ADMIN_TOKEN, VIEW_TOKEN (a ServiceAccount
// bound to `view`), NONE_TOKEN (a ServiceAccount without rights), KUBECONFIG, KUBECTL,
// MANIFEST (the walkthrough's Service and StatefulSet), SCREENSHOTS (a directory), and
// MODE=measure (only the first-load figures and a 1000-replica set: see docs/performance.md).

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = (k) => {
  if (!process.env[k]) throw new Error(`${k} is not set`);
  return process.env[k];
};
const URL_ = env("ORDO_URL");
const SHOTS = env("SCREENSHOTS");
const SET = "nginx-statefulset";
const T = 60000; // per wait

function kubectl(...args) {
  const input = args.length && typeof args[args.length - 1] === "object" ? args.pop().stdin : undefined;
  try {
    return execFileSync(env("KUBECTL"), ["--kubeconfig", env("KUBECONFIG"), ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`kubectl ${args.join(" ")}: ${e.stderr || e.message}`);
  }
}
const stsField = (path) => kubectl("get", "sts", SET, "-o", `jsonpath={${path}}`);
const result = (name, v) => console.log(`RESULT ${name} ${JSON.stringify(v)}`);
const step = (s) => console.log(`STEP ${s}`);
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

/** Resolves when the test writes `word` on a line of standard input. */
const stdinLines = [];
let stdinWaiter = null;
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  for (const l of chunk.split("\n")) if (l) stdinLines.push(l);
  if (stdinWaiter) stdinWaiter();
});
async function waitForStdin(word) {
  while (!stdinLines.includes(word)) await new Promise((r) => (stdinWaiter = r));
  stdinLines.splice(stdinLines.indexOf(word), 1);
}

/** A second set: claims from a volumeClaimTemplate, and a partition at ordinal 2. */
const WEB = `apiVersion: v1
kind: Service
metadata: {name: web}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80, name: web}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 3
  selector: {matchLabels: {app: web}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: "nginx:1.25.4", volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]}
  volumeClaimTemplates:
  - metadata: {name: www}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

let shot = 0;
async function screenshot(page, name) {
  shot++;
  const prefix = process.env.MODE === "measure" ? "" : `${String(shot).padStart(2, "0")}-`;
  await page.screenshot({ path: join(SHOTS, `${prefix}${name}.png`), fullPage: true });
}

/** Polls `f` (in Node) until it returns true. */
async function eventually(what, f, ms = T) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Tiles of the set as the page shows them: [{ordinal, state, rev, kind}]. */
const tiles = (page) =>
  page.$$eval(`section.sts[data-set="${SET}"] li.tile`, (els) =>
    els.map((e) => ({ ordinal: Number(e.dataset.ordinal), state: e.dataset.state, rev: e.dataset.rev, kind: e.dataset.revKind })),
  );

async function readyTiles(page, n) {
  await page.waitForFunction(
    ([set, n]) => {
      const t = [...document.querySelectorAll(`section.sts[data-set="${set}"] li.tile`)];
      return t.length === n && t.every((e) => e.dataset.state === "ready");
    },
    [SET, n],
    { timeout: T },
  );
}

/**
 * Starts recording, in the page, the order in which ordinals first match `cond`
 * (`appeared`: a pod exists; `changed`: its revision differs from the one it shows now).
 */
async function record(page, name, cond) {
  await page.evaluate(
    ([set, name, cond]) => {
      const initial = {};
      for (const e of document.querySelectorAll(`section.sts[data-set="${set}"] li.tile`)) initial[e.dataset.ordinal] = e.dataset.rev;
      const seen = (window.__order = window.__order || {})[name] = [];
      const look = () => {
        for (const e of document.querySelectorAll(`section.sts[data-set="${set}"] li.tile`)) {
          const o = Number(e.dataset.ordinal);
          const hit = cond === "appeared" ? e.dataset.state !== "missing" : e.dataset.rev && e.dataset.rev !== initial[o];
          if (hit && !seen.includes(o)) seen.push(o);
        }
      };
      new MutationObserver(look).observe(document.getElementById("sets-body"), { childList: true, subtree: true, attributes: true });
      look();
    },
    [SET, name, cond],
  );
}
const recorded = (page, name) => page.evaluate((name) => window.__order[name], name);

/**
 * Figures of a load of the page (a first one with `goto`, or a reload that revalidates the
 * cached assets): bytes transferred and paint times from Chromium's timing API.
 */
async function firstLoad(page, reload = false) {
  if (reload) await page.reload({ waitUntil: "load" });
  else await page.goto(URL_, { waitUntil: "load" });
  await page.waitForSelector("#signin:not([hidden])");
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance.getEntriesByType("resource");
    const paint = Object.fromEntries(performance.getEntriesByType("paint").map((p) => [p.name, Math.round(p.startTime)]));
    return {
      bytes: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
      decodedBytes: nav.decodedBodySize + res.reduce((n, r) => n + r.decodedBodySize, 0),
      requests: 1 + res.length,
      firstPaintMs: paint["first-paint"],
      firstContentfulPaintMs: paint["first-contentful-paint"],
      loadMs: Math.round(nav.loadEventEnd),
      // Where the time went: TCP+TLS set-up, the page's first byte and last byte.
      connectMs: Math.round(nav.connectEnd - nav.connectStart),
      htmlFirstByteMs: Math.round(nav.responseStart),
      htmlDoneMs: Math.round(nav.responseEnd),
      domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
    };
  });
}

async function signIn(page, token, who) {
  if (await page.isVisible("#signout")) await page.click("#signout");
  await page.fill("#token", token);
  await page.click("#signin-btn");
  if (who) await page.waitForFunction((who) => document.getElementById("who").textContent.includes(who), who, { timeout: T });
}

async function scaleInPage(page, n) {
  await page.fill(`input.replicas[data-set="${SET}"]`, String(n));
  await page.click(`button[data-action="scale"][data-set="${SET}"]`);
}

async function errorText(page, needle) {
  await page.waitForFunction((needle) => document.getElementById("errors").textContent.includes(needle), needle, { timeout: T });
  return page.textContent("#errors");
}

async function walkthrough(page) {
  for (const f of readdirSync(SHOTS)) if (/^\d\d-.*\.png$/.test(f)) rmSync(join(SHOTS, f));
  step("first load");
  const load = await firstLoad(page);
  result("first_load", load);
  await screenshot(page, "sign-in");

  step("a wrong token is refused with the API's message");
  await signIn(page, "not-a-token");
  await page.waitForFunction(() => document.getElementById("signin-error").textContent !== "", null, { timeout: T });
  const refused = await page.textContent("#signin-error");
  result("wrong_token", refused);
  check(/unauthorized/i.test(refused), `401 message: ${refused}`);

  step("sign in as admin");
  await signIn(page, env("ADMIN_TOKEN"), "kubernetes-admin");
  await page.waitForSelector("#sets-body:has-text('No StatefulSets')", { timeout: T });

  step("apply the walkthrough; tiles appear in ordinal order");
  await page.waitForFunction(() => !!document.getElementById("sets-body"), null, { timeout: T });
  await page.evaluate(() => {
    // Tiles do not exist before the set does: watch the whole list for the first ones.
    window.__order = { appeared: [] };
    const seen = window.__order.appeared;
    new MutationObserver(() => {
      for (const e of document.querySelectorAll("section.sts li.tile")) {
        const o = Number(e.dataset.ordinal);
        if (e.dataset.state !== "missing" && !seen.includes(o)) seen.push(o);
      }
    }).observe(document.getElementById("sets-body"), { childList: true, subtree: true, attributes: true });
  });
  kubectl("apply", "-f", "-", { stdin: readFileSync(env("MANIFEST"), "utf8") });
  await readyTiles(page, 3);
  const appeared = await recorded(page, "appeared");
  result("appeared", appeared);
  check(JSON.stringify(appeared) === "[0,1,2]", `tiles appeared in ordinal order: ${appeared}`);
  const dns = await page.textContent(`section.sts[data-set="${SET}"] li.tile[data-ordinal="0"] .dns`);
  check(dns === `${SET}-0.nginx-stateful-service.default.svc.cluster.local`, `stable DNS name: ${dns}`);
  await page.waitForSelector("#svcs-body li.ep", { timeout: T });
  await screenshot(page, "walkthrough-3-pods");

  step("scale to 5 in the page");
  await page.focus(`input.replicas[data-set="${SET}"]`);
  await scaleInPage(page, 5);
  await readyTiles(page, 5);
  check(stsField(".spec.replicas") === "5", "kubectl sees 5 replicas");
  await eventually("5 ready replicas in kubectl", () => stsField(".status.readyReplicas") === "5");
  await screenshot(page, "scaled-to-5");

  step("kubectl set image: tiles change revision from the highest ordinal down");
  await record(page, "changed", "changed");
  kubectl("set", "image", `statefulset/${SET}`, "nginx-container=nginx:1.26.1");
  await page.waitForFunction((set) => {
    const t = [...document.querySelectorAll(`section.sts[data-set="${set}"] li.tile`)];
    return t.some((e) => e.dataset.revKind === "update") && t.some((e) => e.dataset.revKind === "current");
  }, SET, { timeout: T });
  await screenshot(page, "rolling-update-in-progress");
  await page.waitForFunction((set) => {
    const t = [...document.querySelectorAll(`section.sts[data-set="${set}"] li.tile`)];
    return t.length === 5 && t.every((e) => e.dataset.state === "ready" && e.dataset.revKind === "update") && document.querySelector(`section.sts[data-set="${set}"] .figures`).textContent.includes("rollout complete");
  }, SET, { timeout: T });
  const changed = await recorded(page, "changed");
  result("update_order", changed);
  check(JSON.stringify(changed) === "[4,3,2,1,0]", `revision changed from the highest ordinal down: ${changed}`);
  await screenshot(page, "updated");

  step("roll back from the page");
  const revButton = page.locator(`button[data-action="rollback"][data-set="${SET}"]`, { hasText: "Roll back to 1" });
  const oldRev = await revButton.getAttribute("data-revision");
  await revButton.click();
  await eventually("the template image back to nginx:1.25.4", () => stsField(".spec.template.spec.containers[0].image") === "nginx:1.25.4");
  // Every pod back on the first revision (its hash label), which is the update revision again.
  await page.waitForFunction(([set, rev]) => {
    const t = [...document.querySelectorAll(`section.sts[data-set="${set}"] li.tile`)];
    return t.length === 5 && t.every((e) => e.dataset.state === "ready" && e.dataset.rev === rev && e.dataset.revKind === "update");
  }, [SET, oldRev], { timeout: T });
  result("rolled_back_image", stsField(".spec.template.spec.containers[0].image"));
  await screenshot(page, "rolled-back");

  step("the server restarts: the page reconnects and stays live");
  console.log("REQUEST restart");
  await waitForStdin("done");
  kubectl("scale", "sts", SET, "--replicas=6");
  await readyTiles(page, 6);
  await screenshot(page, "after-server-restart");
  await scaleInPage(page, 5);
  await readyTiles(page, 5);
  check(stsField(".spec.replicas") === "5", "scaled back to 5 from the page after the restart");

  step("delete a pod after confirmation");
  const uid = kubectl("get", "pod", `${SET}-1`, "-o", "jsonpath={.metadata.uid}");
  await page.click(`button[data-action="delete-pod"][data-pod="${SET}-1"]`);
  await page.waitForSelector("#confirm[open]");
  await screenshot(page, "delete-confirmation");
  await page.click("#confirm-ok");
  await eventually("pod 1 recreated", () => {
    try {
      return kubectl("get", "pod", `${SET}-1`, "-o", "jsonpath={.metadata.uid}") !== uid;
    } catch (_) {
      return false;
    }
  });
  await readyTiles(page, 5);

  step("restart from the page");
  await page.click(`button[data-action="restart"][data-set="${SET}"]`);
  await eventually("restartedAt in the template", () => stsField(".spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt") !== "");

  step("a set with claims and a partition: only ordinals at or above it are updated");
  kubectl("apply", "-f", "-", { stdin: WEB });
  const web = (sel) => `section.sts[data-set="web"] ${sel}`;
  await page.waitForFunction((sel) => {
    const t = [...document.querySelectorAll(sel)];
    return t.length === 3 && t.every((e) => e.dataset.state === "ready") && t[0].querySelector(".claims").textContent === "www-web-0 1Gi Bound";
  }, web("li.tile"), { timeout: T });
  kubectl("set", "image", "statefulset/web", "nginx=nginx:1.26.1");
  kubectl("annotate", "statefulset/web", "kubernetes.io/change-cause=canary: nginx 1.26.1 above the partition");
  await page.waitForFunction((sel) => {
    const t = [...document.querySelectorAll(sel)];
    return t.length === 3 && t.every((e) => e.dataset.state === "ready") && t.map((e) => e.dataset.revKind).join() === "current,current,update" &&
      (t[2].getAttribute("aria-label") || "").includes("change cause: canary");
  }, web("li.tile"), { timeout: T });
  const order = await page.$$eval(web("ol.tiles > li"), (els) => els.map((e) => (e.classList.contains("partition") ? "|" : e.dataset.ordinal)).join(""));
  check(order === "01|2", `the partition line between ordinals 1 and 2: ${order}`);
  await screenshot(page, "partition-and-claims");
  await page.locator(`section.sts[data-set="web"]`).screenshot({ path: join(SHOTS, "readme-partition-and-claims.png") });

  step("a Deployment beside them, with its ReplicaSet");
  kubectl("create", "deployment", "hello", "--image=nginx:1.25.4", "--replicas=2");
  await page.waitForFunction(() => {
    const c = document.querySelector("#deps-body caption");
    const cells = [...document.querySelectorAll("#deps-body td")].map((td) => td.textContent);
    return c && c.textContent === "Deployment hello: 2/2 ready" && cells.some((t) => t.startsWith("hello-")) && cells.includes("nginx=nginx:1.25.4");
  }, null, { timeout: T });

  step("the namespace picker follows another namespace and comes back");
  await page.fill("#ns", "kube-system");
  await page.press("#ns", "Enter");
  await page.waitForSelector("#sets-body:has-text('No StatefulSets in kube-system.')", { timeout: T });
  check(new URL(page.url()).hash === "#ns=kube-system", "the namespace is in the address");
  await page.fill("#ns", "default");
  await page.press("#ns", "Enter");
  await page.waitForSelector('section.sts[data-set="web"] li.tile[data-state="ready"]', { timeout: T });

  step("keyboard: tiles are focusable and arrow keys move between them");
  await page.focus(web('li.tile[data-ordinal="0"]'));
  await page.keyboard.press("ArrowRight");
  check((await page.evaluate(() => document.activeElement.dataset.ordinal)) === "1", "ArrowRight to ordinal 1");
  await page.keyboard.press("End");
  check((await page.evaluate(() => document.activeElement.dataset.ordinal)) === "2", "End to ordinal 2");
  await page.keyboard.press("Tab");
  check((await page.evaluate(() => document.activeElement.getAttribute("aria-label"))) === "Delete pod web-2", "Tab to the tile's Delete button");

  step("a view-only user sees the 403 message when scaling");
  await signIn(page, env("VIEW_TOKEN"), "system:serviceaccount:default:viewer");
  await page.waitForSelector(`section.sts[data-set="${SET}"] li.tile`, { timeout: T });
  await scaleInPage(page, 2);
  const denied = await errorText(page, "forbidden");
  result("view_scale_error", denied);
  check(denied.includes('cannot patch resource "statefulsets/scale"'), `403 message: ${denied}`);
  check(stsField(".spec.replicas") === "5", "still 5 replicas");
  await screenshot(page, "view-user-scale-forbidden");

  step("a user without rights sees the 403 message on listing");
  await signIn(page, env("NONE_TOKEN"), "system:serviceaccount:default:nobody");
  const listDenied = await errorText(page, 'cannot list resource "statefulsets"');
  result("none_list_error", listDenied);
  await screenshot(page, "no-rights-list-forbidden");
}

/** MODE=measure: the first-load figures, then the page with the set at 1000 replicas. */
async function measure(page) {
  result("first_load", await firstLoad(page));
  result("reload", await firstLoad(page, true));
  // A running browser's first visit: renderer and connection warm, HTTP cache emptied.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.clearBrowserCache");
  await page.goto(new URL("/version", URL_).href);
  result("warm_browser_first_load", await firstLoad(page));
  await signIn(page, env("ADMIN_TOKEN"), "kubernetes-admin");
  kubectl("apply", "-f", "-", { stdin: readFileSync(env("MANIFEST"), "utf8") });
  kubectl("scale", "sts", SET, "--replicas=1000");
  // podManagementPolicy is immutable: the manifest for this mode already says Parallel.
  const t0 = Date.now();
  await page.waitForFunction((set) => {
    const f = document.querySelector(`section.sts[data-set="${set}"] .figures`);
    return f && f.textContent.startsWith("1000/1000 ready");
  }, SET, { timeout: 600000 });
  result("1000_ready_seen_after_ms", Date.now() - t0);
  const tileCount = (await tiles(page)).length;
  result("1000_tiles_shown", tileCount);
  // One re-render of the whole page with 1000 pods, timed in the page.
  const renderMs = await page.evaluate(async () => {
    const t = performance.now();
    document.getElementById("ns-form").requestSubmit();
    await new Promise((r) => {
      const done = () => (document.querySelector("section.sts .figures") ? r() : requestAnimationFrame(done));
      requestAnimationFrame(done);
    });
    return Math.round(performance.now() - t);
  });
  result("1000_relist_and_render_ms", renderMs);
  const reload = Date.now();
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector(`section.sts[data-set="${SET}"] li.tile`, { timeout: T });
  result("1000_reload_to_tiles_ms", Date.now() - reload);
  // Ten pods made unready split the range tile in three.
  kubectl("annotate", "pods", ...Array.from({ length: 10 }, (_, i) => `${SET}-${500 + i}`), "sim.ordo.dev/ready=false");
  await page.waitForFunction((set) => {
    const t = [...document.querySelectorAll(`section.sts[data-set="${set}"] li.tile`)];
    return t.length === 3 && t[1].dataset.state === "unready" && t[1].dataset.to === "509";
  }, SET, { timeout: T });
  result("1000_tiles_with_10_unready", await page.$$eval(`section.sts[data-set="${SET}"] li.tile`, (els) => els.map((e) => e.getAttribute("aria-label"))));
  await screenshot(page, "measure-1000-replicas");
}

const dir = mkdtempSync(join(tmpdir(), "ordo-ui-chromium-"));
const context = await chromium.launchPersistentContext(dir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  ignoreHTTPSErrors: true,
  viewport: { width: 1280, height: 900 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--ignore-certificate-errors",
  ],
});
let code = 0;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => console.log(`PAGE ERROR ${e.message}`));
  page.on("console", (m) => m.type() === "error" && console.log(`CONSOLE ${m.text()}`));
  if (process.env.MODE === "measure") await measure(page);
  else await walkthrough(page);
  console.log("DRIVER OK");
} catch (e) {
  console.log(`DRIVER FAILED ${e.stack || e}`);
  code = 1;
} finally {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
