// End-to-end test of the family vault through its web UI, in headless Chromium.
//
// Four phones (four `vault serve` processes on loopback). Through the UI: upload 50 files of
// 1 KiB to 20 MiB (half into a folder made in the UI), stop one phone, download every file from
// another and compare SHA-256, edit one file from two phones at once and see both versions,
// restart the stopped phone with a wiped store and watch the health screen go back to "All
// files safe". Screenshots of the file list and the health screen go to $OUT.
//
// Usage: node vault-e2e.js <vault binary> <chromium> <out dir>   (playwright-core on NODE_PATH)
"use strict";
const { chromium } = require("playwright-core");
const { spawn, execFileSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const net = require("net");

const [VAULT, CHROMIUM, OUT] = process.argv.slice(2);
if (!VAULT || !CHROMIUM || !OUT) {
  console.error("usage: node vault-e2e.js <vault binary> <chromium> <out dir>");
  process.exit(2);
}
const N = 4, FILES = 50, MIN = 1024, MAX = 20 << 20;
const t0 = Date.now();
const log = (...a) => console.log(`vault-e2e: [${((Date.now() - t0) / 1000).toFixed(1)} s]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let checks = 0, passed = 0;
function check(ok, what) {
  checks++;
  if (ok) passed++;
  else console.log(`vault-e2e: FAILED CHECK: ${what}`);
  return ok;
}

async function freeBase() {
  // 3n consecutive free ports.
  for (let tries = 0; tries < 50; tries++) {
    // Below Linux's range for outgoing connections (32768 and up), so no phone's dial takes
    // another's listening port.
    const base = 20000 + Math.floor(Math.random() * 12000);
    let ok = true;
    for (let p = base; p < base + 3 * N && ok; p++) {
      ok = await new Promise((res) => {
        const s = net.createServer().once("error", () => res(false)).once("listening", () => s.close(() => res(true)));
        s.listen(p, "127.0.0.1");
      });
    }
    if (ok) return base;
  }
  throw new Error("no free ports");
}

const procs = [];
function serve(home, i) {
  const logf = fs.openSync(path.join(OUT, `phone${i}.log`), "a");
  const p = spawn(VAULT, ["serve", "--home", home], { stdio: ["ignore", logf, logf] });
  procs[i] = p;
  return p;
}
function stopAll() {
  for (const p of procs) if (p && p.exitCode === null) p.kill("SIGKILL");
}
process.on("exit", stopAll);

// Each phone's access token (written by `vault serve` at start), by web port.
const tokens = {};
const token = (port) => tokens[port];
async function getJson(port, p) {
  const r = await fetch(`http://127.0.0.1:${port}${p}`, { headers: { "X-Vault-Token": token(port) } });
  return r.json();
}
const get = (port, p) => fetch(`http://127.0.0.1:${port}${p}`, { headers: { "X-Vault-Token": token(port) } });
const ui = (port) => `http://127.0.0.1:${port}/?token=${token(port)}`;
async function until(what, ms, f) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}
const sha = (b) => crypto.createHash("sha256").update(b).digest("hex");

async function main() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const work = fs.mkdtempSync("/tmp/vault-e2e-");
  const base = await freeBase();
  execFileSync(VAULT, ["init", "--out", path.join(work, "family"), "--family", "The Examples", "--members", "Mom,Dad,Kid,Grandma",
    "--base-port", String(base), "--heartbeat-s", "1", "--scrub-s", "10"]);
  const homes = [], web = [];
  for (let i = 0; i < N; i++) {
    const bundle = path.join(work, "family", `${i}-${["Mom", "Dad", "Kid", "Grandma"][i]}`);
    homes.push(path.join(work, `phone${i}`));
    execFileSync(VAULT, ["join", "--bundle", bundle, "--home", homes[i]]);
    web.push(base + 2 * N + i);
    serve(homes[i], i);
  }
  const readTokens = () => homes.forEach((h, i) => { tokens[web[i]] = fs.readFileSync(path.join(h, "data", "web.token"), "utf8").trim(); });
  await until("every phone's web UI", 30000, async () => {
    readTokens();
    for (const p of web) await getJson(p, "/api/info");
    return true;
  });
  // Without the token the API refuses, even from this machine.
  check((await fetch(`http://127.0.0.1:${web[0]}/api/ls`)).status === 401, "the API refuses requests without the phone's token");

  // The files: sizes spaced evenly on a log scale from 1 KiB to 20 MiB, random bytes.
  const dir = path.join(work, "files");
  fs.mkdirSync(dir);
  const local = [];
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const size = Math.round(MIN * Math.pow(MAX / MIN, i / (FILES - 1)));
    const name = `file-${String(i).padStart(2, "0")}-${size}.bin`;
    const data = crypto.randomBytes(size);
    fs.writeFileSync(path.join(dir, name), data);
    local.push({ name, size, sha: sha(data), vaultPath: (i % 2 ? "/Photos/" : "/") + name });
    bytes += size;
  }
  log(`${FILES} files, ${(bytes / 1048576).toFixed(1)} MiB`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  // Each phone's UI in its own browser context, as on its own device.
  const phonePage = async () =>
    (await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } })).newPage();
  const page = await phonePage();
  page.on("dialog", (d) => d.accept("Photos"));
  await page.goto(ui(web[0]));
  check((await page.textContent("#who")).includes("Mom's phone"), "the UI says whose phone it is");

  // Upload: a folder made in the UI, half the files into it, half at the top.
  await page.click("#mkdir");
  await page.waitForSelector('a[data-dir="/Photos/"]', { timeout: 30000 });
  check(true, "the new folder shows in the list");
  const upload = async (list) => {
    await page.setInputFiles("#pick", list.map((f) => path.join(dir, f.name)));
    await page.click("#upload");
    await page.waitForFunction(() => document.querySelector("#upmsg").textContent === "", null, { timeout: 600000 });
  };
  const tUp = Date.now();
  await page.click('a[data-dir="/Photos/"]');
  await upload(local.filter((f) => f.vaultPath.startsWith("/Photos/")));
  await page.click('a[data-dir="/"]');
  await upload(local.filter((f) => !f.vaultPath.startsWith("/Photos/")));
  check((await page.$$(".upload")).length === FILES, "an upload row with a progress bar per file");
  await until("the outbox to drain and the directory to list every file", 900000, async () => {
    const p = await getJson(web[0], "/api/pending");
    const ls = await getJson(web[0], "/api/ls");
    return p.pending.length === 0 && ls.files.length === FILES;
  });
  const upS = (Date.now() - tUp) / 1000;
  log(`uploaded through the UI in ${upS.toFixed(1)} s (${(bytes / 1048576 / upS).toFixed(1)} MiB/s)`);
  await page.reload();
  await page.waitForSelector("tr.file");
  check((await page.$$("tr.file")).length === FILES / 2, "the top folder lists its 25 files");
  check((await page.$$("tr.folder")).length === 1, "and the Photos folder");
  await page.screenshot({ path: path.join(OUT, "files.png"), fullPage: false });
  await page.click('nav button[data-tab="health"]');
  await page.waitForFunction(() => document.querySelector("#status").textContent === "All files safe", null, { timeout: 120000 });
  check(true, "the health screen says All files safe after the uploads");

  // Stop Grandma's phone; read everything through Dad's.
  procs[3].kill("SIGKILL");
  const tStop = Date.now();
  const dad = await phonePage();
  await dad.goto(ui(web[1]));
  await dad.waitForSelector("tr.file");
  let ok = 0;
  for (const f of local) {
    const folder = f.vaultPath.startsWith("/Photos/") ? "/Photos/" : "/";
    // Chromium stops a tab's downloads after about 20 in a row (its multiple-download guard):
    // load the page afresh for each, as a user coming back to it would.
    await dad.goto(ui(web[1]));
    await dad.waitForSelector("tr.file");
    await dad.click(`a[data-dir="${folder}"]`);
    const [dl] = await Promise.all([
      dad.waitForEvent("download", { timeout: 120000 }),
      dad.click(`tr.file[data-path="${f.vaultPath}"] a.dl`),
    ]).catch(async (e) => {
      await dad.screenshot({ path: path.join(OUT, "failed-download.png") });
      console.log("vault-e2e: page:", dad.url(), await dad.$$eval("a.dl", (as) => as.length));
      throw e;
    });
    const saved = path.join(work, "dl-" + f.name);
    await dl.saveAs(saved);
    const got = fs.readFileSync(saved);
    if (got.length === f.size && sha(got) === f.sha) ok++;
    else console.log(`vault-e2e: ${f.vaultPath}: downloaded ${got.length} bytes, SHA-256 ${sha(got)}, want ${f.size} ${f.sha}`);
    fs.rmSync(saved);
  }
  log(`downloaded ${ok}/${FILES} through Dad's phone with Grandma's off`);
  check(ok === FILES, "every download matches its SHA-256");
  await until("Grandma's phone reported as offline", 60000, async () => {
    const h = await getJson(web[1], "/api/health");
    return !h.all_safe && h.status.startsWith("Grandma's phone has been offline");
  });
  await dad.click('nav button[data-tab="health"]');
  await dad.waitForFunction(() => document.querySelector("#status").textContent.startsWith("Grandma's phone has been offline"), null, { timeout: 30000 });
  check(/files depend on the other three/.test(await dad.textContent("#status")), "the health screen says what depends on whom");
  await dad.screenshot({ path: path.join(OUT, "health-one-phone-off.png") });

  // Two phones edit one file at once (both saw version v).
  const target = local[3];
  const v = (await getJson(web[0], "/api/ls")).files.find((x) => x.path === target.vaultPath).version;
  const kid = await phonePage();
  const mom = page;
  await mom.click('nav button[data-tab="files"]');
  await kid.goto(ui(web[2]));
  await kid.waitForSelector("tr.file");
  const folder = target.vaultPath.startsWith("/Photos/") ? "/Photos/" : "/";
  const edit = async (p, who) => {
    await p.click(`a[data-dir="${folder}"]`);
    const f = path.join(work, who, target.name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, `${who}'s edit of ${target.name}\n`);
    await p.setInputFiles("#pick", [f]);
  };
  await edit(mom, "mom");
  await edit(kid, "kid");
  await Promise.all([mom.click("#upload"), kid.click("#upload")]);
  const conflicted = await until("both edits to commit", 120000, async () => {
    const ls = await getJson(web[1], "/api/ls");
    const c = ls.files.filter((x) => x.path.includes("(conflicted copy"));
    const main = ls.files.find((x) => x.path === target.vaultPath);
    return c.length >= 1 && main && main.version > v ? { ls, c } : null;
  });
  check(conflicted.c.length === 1, "exactly one conflicted copy");
  const edited = [target.vaultPath, conflicted.c[0].path];
  const texts = [];
  for (const p of edited) {
    const r = await get(web[1], `/api/files?path=${encodeURIComponent(p)}`);
    texts.push(await r.text());
  }
  check(texts.some((t) => t.startsWith("mom's edit")) && texts.some((t) => t.startsWith("kid's edit")), "both edits are kept");
  await dad.click('nav button[data-tab="files"]');
  await dad.click(`a[data-dir="${folder}"]`);
  await dad.waitForSelector(`tr.file[data-path="${conflicted.c[0].path}"]`, { timeout: 30000 });
  check(true, "the conflicted copy shows in the file list");
  await dad.click(`tr.file[data-path="${target.vaultPath}"] button.ver`);
  await dad.waitForSelector("#vtable");
  check((await dad.$$("#vtable tr")).length >= 3, "the versions list shows the old and the new version");

  // Grandma's phone comes back with a wiped store.
  fs.rmSync(path.join(homes[3], "data"), { recursive: true, force: true });
  const tRestart = Date.now();
  fs.rmSync(path.join(homes[3], "data", "web.token"), { force: true });
  serve(homes[3], 3);
  await until("Grandma's phone's new token", 30000, async () => { readTokens(); return (await getJson(web[3], "/api/info")).member === 3; });
  await dad.click('nav button[data-tab="health"]');
  let sawRefill = false;
  await until("the health screen to say All files safe after the repair", 900000, async () => {
    const s = await dad.textContent("#status");
    if (/refilled|catching up/.test(s)) sawRefill = true;
    return s === "All files safe";
  });
  const repairS = (Date.now() - tRestart) / 1000;
  log(`Grandma's phone refilled in ${repairS.toFixed(1)} s (off for ${((tRestart - tStop) / 1000).toFixed(0)} s)`);
  check(sawRefill, "the health screen showed the refill in progress");
  await dad.screenshot({ path: path.join(OUT, "health.png") });
  await page.click('nav button[data-tab="files"]');
  await page.screenshot({ path: path.join(OUT, "files-after.png") });

  // Storage overhead: what the phones hold (as their scrub passes count it) over what was
  // stored; wait for a scrub pass on the refilled phone to count its pieces.
  const h = await until("every phone's scrub pass to count its pieces", 120000, async () => {
    const h = await getJson(web[1], "/api/health");
    const held = h.members.map((m) => m.held_bytes);
    return Math.min(...held) >= 0.95 * Math.max(...held) && Math.min(...held) > 0 ? h : null;
  });
  const held = h.members.reduce((a, m) => a + m.held_bytes, 0);
  const overhead = held / h.used_bytes;
  check(overhead >= 1.0 && overhead <= 2.2, `storage overhead ${overhead.toFixed(2)} within 1.0..2.2`);

  // The repaired phone reads alone with one other (k = 2): stop Mom's and Kid's phones, read via Grandma's.
  procs[0].kill("SIGKILL");
  procs[2].kill("SIGKILL");
  let alone = 0;
  for (const f of [local[FILES - 1], local[10]]) {
    const r = await get(web[3], `/api/files?path=${encodeURIComponent(f.vaultPath)}`);
    const b = Buffer.from(await r.arrayBuffer());
    if (sha(b) === f.sha) alone++;
  }
  check(alone === 2, "Grandma's refilled phone and Dad's alone serve the files");

  await browser.close();
  stopAll();
  console.log(`BEAT-VAULT files=${FILES} bytes=${bytes} downloads_ok=${ok}/${FILES} conflicts_kept=${conflicted.c.length} ` +
    `repair_s=${repairS.toFixed(1)} storage_overhead=${overhead.toFixed(2)} ui_checks=${passed}/${checks}`);
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(passed === checks ? 0 : 1);
}

main().catch(async (e) => {
  console.error("vault-e2e:", e.stack || e);
  if (process.env.VAULT_E2E_HOLD) {
    console.error("vault-e2e: holding the phones for inspection (VAULT_E2E_HOLD)");
    await sleep(3600000);
  }
  stopAll();
  process.exit(1);
});
