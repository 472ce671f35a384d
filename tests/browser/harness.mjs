// Test harness for the embed's browser tests: starts the real moderato
// binary (configured only through MODERATO_* environment variables), a tiny
// blog server on another origin with a strict Content-Security-Policy, and
// Debian's Chromium through playwright-core. Nothing here downloads anything.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(REPO, 'tests', 'artifacts');
export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const ADMIN_TOKEN = 'browser-test-admin-token-0123456789abcdef';

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'
];

/** A free TCP port on 127.0.0.1 (listen on port 0, read it, close). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.unref();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Polls `check` (sync or async) until it returns a truthy value. */
export async function until(check, { timeout = 10_000, interval = 25, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * Starts the service binary. `env` holds MODERATO_* settings on top of the
 * test defaults. Inherited MODERATO_* variables (MODERATO_BIN among them) are
 * not passed on: the service refuses variables that name no key.
 */
export async function startService({ blogOrigin, env = {} } = {}) {
  // Where `cargo build` put it: CARGO_TARGET_DIR when set, as cargo does.
  const targetDir = process.env.CARGO_TARGET_DIR
    ? resolve(REPO, process.env.CARGO_TARGET_DIR)
    : join(REPO, 'target');
  const bin = process.env.MODERATO_BIN
    ? resolve(process.env.MODERATO_BIN)
    : join(targetDir, 'debug', 'moderato');
  if (!existsSync(bin)) {
    throw new Error(`moderato binary not found at ${bin}: run \`cargo build\` first or set MODERATO_BIN`);
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'moderato-browser-'));
  const childEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('MODERATO_')) childEnv[k] = v;
  }
  Object.assign(childEnv, {
    MODERATO_LISTEN: `127.0.0.1:${port}`,
    MODERATO_DATA_DIR: dataDir,
    MODERATO_RULES_DIR: join(REPO, 'rules'),
    MODERATO_ADMIN_TOKEN: ADMIN_TOKEN,
    MODERATO_MODERATION: 'all',
    RUST_LOG: process.env.RUST_LOG || 'warn'
  }, blogOrigin ? { MODERATO_ALLOWED_ORIGINS: blogOrigin } : {}, env);
  const child = spawn(bin, [], { cwd: dataDir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const origin = `http://127.0.0.1:${port}`;
  const service = {
    origin,
    port,
    child,
    dataDir,
    get log() { return log; },
    get exited() { return exited; },
    async stop() {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  try {
    await until(async () => {
      if (exited) return true; // reported below, without waiting out the timeout
      const res = await fetch(`${origin}/healthz`);
      return res.status === 200;
    }, { timeout: 20_000, message: `${origin}/healthz` });
    if (exited) throw new Error(`moderato exited at start (${JSON.stringify(exited)}):\n${log}`);
  } catch (e) {
    await service.stop();
    e.serviceLog = log;
    throw e;
  }
  return service;
}

function escapeAttr(s) {
  return String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/**
 * The blog: another origin, `<html lang>`, the two-line snippet.
 *   /<any path>?lang=de&csp=0&text-heading=...&count=/a,/b
 * `sort=newest` becomes data-sort; `csp=0` drops the policy (to prove that an injected handler would have
 * run); `text-*` become data-text-* attributes; `count` adds count elements;
 * `nojs=1` serves the plain no-JavaScript form instead of the snippet;
 * `dark=1` gives the page its own prefers-color-scheme dark mode.
 */
export async function startBlog() {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const blog = { origin, port, serviceOrigin: null };
  const server = createServer((req, res) => {
    const url = new URL(req.url, origin);
    if (url.pathname === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    const svc = blog.serviceOrigin;
    const q = url.searchParams;
    const lang = q.get('lang') || 'en';
    const csp = `default-src 'none'; script-src ${svc}; style-src ${svc}; connect-src ${svc}; img-src data: ${svc}`;
    const attrs = [...q.entries()]
      .filter(([k]) => k.startsWith('text-') || k === 'sort')
      .map(([k, v]) => ` data-${k}="${escapeAttr(v)}"`).join('');
    const counts = (q.get('count') || '').split(',').filter(Boolean)
      .map((p, i) => `<p class="post-${i}"><span data-moderato-count="${escapeAttr(p)}">?</span> comments</p>`).join('\n');
    // A page with its own dark mode (inline style: use with csp=0).
    const darkStyle = q.get('dark') === '1'
      ? '<style>:root{color-scheme:light dark}@media (prefers-color-scheme: dark){body{background:#121212;color:#eee}}</style>'
      : '';
    let body;
    if (q.get('nojs') === '1') {
      body = `<form method="post" action="${svc}/api/comments">
  <input type="hidden" name="page" value="${escapeAttr(url.pathname)}">
  <p><label for="comment">Comment *</label><textarea id="comment" name="comment" required></textarea></p>
  <p><label for="author">Name *</label><input id="author" name="author" required></p>
  <p><label for="email">Email *</label><input id="email" name="email" type="email" required></p>
  <p><label for="url">Website</label><input id="url" name="url" type="url"></p>
  <p><button type="submit">Post Comment</button></p>
</form>`;
    } else {
      body = `<div id="moderato-thread" data-page="${escapeAttr(url.pathname)}"${attrs}></div>
<script src="${svc}/embed.js" async></script>`;
    }
    const html = `<!doctype html>
<html lang="${escapeAttr(lang)}">
<head><meta charset="utf-8"><title>A blog post</title>${darkStyle}</head>
<body>
<main>
<h1>A blog post</h1>
<p>Some words about trust.</p>
${counts}
${body}
</main>
</body>
</html>`;
    const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' };
    if (q.get('csp') !== '0') headers['Content-Security-Policy'] = csp;
    res.writeHead(200, headers);
    res.end(html);
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  blog.stop = () => new Promise((ok) => server.close(ok));
  return blog;
}

/**
 * Debian's Chromium, headless. playwright-core gives every launch a fresh,
 * temporary user-data-dir (and removes it on close); each test then opens its
 * own browser context: a reader with empty storage.
 */
export async function startBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium chromium-driver (or set CHROMIUM_BIN)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

const AXE_SOURCE = join(REPO, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js');

/**
 * Runs axe-core (from npm) in the page, over `selector` (or the whole
 * document), and returns the serious and critical violations, each as
 * "rule: target (summary)". The script is evaluated through the DevTools
 * protocol, so the page's own Content-Security-Policy stays as it is.
 */
export async function seriousViolations(page, selector = null) {
  const hasAxe = await page.evaluate(() => typeof window.axe === 'object');
  if (!hasAxe) await page.evaluate(readFileSync(AXE_SOURCE, 'utf8'));
  const violations = await page.evaluate(async (sel) => {
    const results = await window.axe.run(sel ? document.querySelector(sel) : document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`)
    }));
  }, selector);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.join('\n  ')}`);
}
