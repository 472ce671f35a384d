// Browser test of the admin page (GET /admin) in Debian's headless Chromium,
// driven by playwright-core (no browser download), run by node's built-in
// test runner:
//
//   cargo build && (cd tests/browser && npm ci) && node --test tests/browser/admin.test.mjs
//
// It starts the real binary (MODERATO_BIN, default target/debug/moderato)
// configured only through MODERATO_* variables, seeds comments through the
// public API, then moderates them the way an author would: sign in with the
// token, approve one with a click and one with the keyboard, bulk-mark two as
// spam, and watches the tab counts change. Screenshot: tests/artifacts/admin.png.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

import { ARTIFACTS, CHROMIUM, startService as startHarnessService, until as harnessUntil } from './harness.mjs';

const TOKEN = 'admin-page-browser-test-token-0123456789';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'
];

/** The shared poller, with this file's longer default wait (it drives a whole page). */
function until(check, options = {}) {
  return harnessUntil(check, { timeout: 15_000, interval: 50, ...options });
}

let service;
let browser;

/** The real binary through the shared harness: no blog origin, limits off. */
function startService() {
  return startHarnessService({
    env: { MODERATO_ADMIN_TOKEN: TOKEN, MODERATO_RATE_LIMITS_ENABLED: 'false' }
  });
}

async function admin(path, init = {}) {
  const res = await fetch(service.origin + path, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers || {}) }
  });
  assert.ok(res.ok, `${path}: ${res.status}`);
  return res.json();
}

const READERS = [
  ['Maya', 'This post put words to something I have felt for years. The part about boundaries with family stayed with me.'],
  ['Jonas', 'We started couples therapy last spring. Your point about listening without fixing is the hardest part for me.'],
  ['Ruth', 'My mother died in March. Reading that grief does not follow stages made me feel less broken.'],
  ['Tariq', 'Could you write more about trust after a betrayal? I am not sure how to begin rebuilding it.'],
  ['Elena', 'I shared this with my sister, and we finally talked about our father. Thank you for the gentle tone.'],
  ['<img src=x onerror="window.__xss=1">', 'Testing whether my name shows up as code. <b>Bold</b> is allowed, <script>window.__xss=2</script> is not.']
];

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium chromium-driver`);
  service = await startService();
  for (const [i, [author, comment]] of READERS.entries()) {
    const res = await fetch(`${service.origin}/api/comments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ page: `/blog/post-${i % 2}/`, author, email: `reader${i}@example.org`, comment })
    });
    assert.equal(res.status, 201, `seed ${i}: ${await res.text()}`);
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
  await service?.stop();
});

async function counts(page) {
  return page.evaluate(() => Object.fromEntries(
    ['pending', 'approved', 'spam', 'rejected'].map((s) => [s, Number(document.getElementById(`count-${s}`).textContent)])
  ));
}

async function waitCounts(page, expected) {
  await until(async () => {
    const now = await counts(page);
    return Object.entries(expected).every(([k, v]) => now[k] === v) && now;
  }, { message: `counts ${JSON.stringify(expected)}` });
}

const ids = (page) => page.$$eval('#list > li.comment', (items) => items.map((li) => li.dataset.id));

test('an author moderates the queue in the browser', { timeout: 90_000 }, async () => {
  const stats = await admin('/admin/stats');
  assert.equal(stats.pending, READERS.length, `every seeded comment is pending: ${JSON.stringify(stats)}`);

  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss(); });

  // The page loads without a token and asks for it; a wrong one is refused.
  await page.goto(`${service.origin}/admin`);
  await page.waitForSelector('html[data-moderato-admin="login"]');
  await page.fill('#token', 'not-the-token-at-all');
  await page.click('#login-form button[type=submit]');
  await until(async () => (await page.textContent('#login-error')).trim().length > 0, { message: 'login error' });
  await page.fill('#token', TOKEN);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('html[data-moderato-admin="ready"]');
  await waitCounts(page, { pending: 6, approved: 0, spam: 0, rejected: 0 });
  let listed = await ids(page);
  assert.equal(listed.length, 6);

  // Reader-controlled text is text: the name with markup did not become an element.
  const hostile = page.locator('li.comment', { hasText: 'Testing whether my name' });
  assert.equal(await hostile.locator('.author').textContent(), READERS[5][0]);
  assert.equal(await hostile.locator('.author img').count(), 0);
  assert.equal(await hostile.locator('.body b').count(), 1, 'sanitized html keeps <b>');
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  // 1. Approve the first (newest) comment with a click.
  const clicked = listed[0];
  await page.click(`li.comment[data-id="${clicked}"] button[data-action="approve"]`);
  await waitCounts(page, { pending: 5, approved: 1 });
  assert.ok(!(await ids(page)).includes(clicked), 'approved comment left the pending tab');

  // 2. Approve one with the keyboard: j moves down one, a approves.
  listed = await ids(page);
  await page.locator('body').press('j');
  const keyed = await page.$eval('#list > li.comment.current', (li) => li.dataset.id);
  assert.equal(keyed, listed[1]);
  await page.keyboard.press('a');
  await waitCounts(page, { pending: 4, approved: 2 });

  // 3. Select two (a click and the x key) and mark them as spam in bulk.
  listed = await ids(page);
  const bulkIds = [listed[0], listed[2]];
  await page.check(`li.comment[data-id="${bulkIds[0]}"] input.select`);
  await page.click(`li.comment[data-id="${listed[2]}"] .body`);
  await page.keyboard.press('x');
  assert.equal(await page.textContent('#selected-count'), '2 selected');
  await page.click('button[data-bulk="spam"]');
  await waitCounts(page, { pending: 2, approved: 2, spam: 2, rejected: 0 });
  assert.deepEqual((await ids(page)).filter((id) => bulkIds.includes(id)), []);

  // The server agrees, and the audit trail says how each was decided.
  const via = async (id) => (await admin(`/admin/comments/${id}`)).decisions.map((d) => `${d.from}>${d.to}:${d.via}`);
  assert.deepEqual(await via(clicked), ['pending>approved:admin']);
  assert.deepEqual(await via(keyed), ['pending>approved:admin']);
  for (const id of bulkIds) assert.deepEqual(await via(id), ['pending>spam:bulk']);
  assert.deepEqual(
    await admin('/admin/stats').then(({ pending, approved, spam, rejected }) => ({ pending, approved, spam, rejected })),
    { pending: 2, approved: 2, spam: 2, rejected: 0 }
  );

  // The spam tab lists the two, with the decision in their details.
  await page.click('button.tab[data-status="spam"]');
  await until(async () => (await ids(page)).length === 2, { message: 'spam tab' });
  assert.deepEqual((await ids(page)).sort(), [...bulkIds].sort());
  const first = page.locator('#list > li.comment').first();
  await first.locator('summary').click();
  assert.match(await first.locator('.decisions').textContent(), /pending\s*→\s*spam.*via bulk/);

  // Reply as the author from the details of a pending comment: the reply is
  // published and the comment with it.
  await page.click('button.tab[data-status="pending"]');
  await until(async () => (await ids(page)).length === 2, { message: 'pending tab' });
  const answered = (await ids(page))[0];
  const item = page.locator(`li.comment[data-id="${answered}"]`);
  await item.locator('summary').click();
  await item.locator('form.reply textarea').fill('Thank you for trusting us with this.');
  await item.locator('form.reply button[type=submit]').click();
  await waitCounts(page, { pending: 1, approved: 4, spam: 2 });
  assert.deepEqual(await via(answered), ['pending>approved:reply']);
  const { page: thread } = await admin(`/admin/comments/${answered}`);
  const publicThread = await (await fetch(`${service.origin}/api/comments?page=${encodeURIComponent(thread)}`)).json();
  const reply = publicThread.comments.find((c) => c.parent === answered);
  assert.equal(reply?.by_author, true, JSON.stringify(publicThread));

  // The token survives a reload of the tab (sessionStorage).
  await page.reload();
  await page.waitForSelector('html[data-moderato-admin="ready"]');
  await waitCounts(page, { pending: 1, approved: 4, spam: 2 });

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.click('button.tab[data-status="approved"]');
  await until(async () => (await ids(page)).length === 4, { message: 'approved tab' });
  await page.screenshot({ path: join(ARTIFACTS, 'admin.png'), fullPage: true });

  assert.deepEqual(problems, [], 'no console errors, CSP violations or dialogs');
  await context.close();
});

test('a long queue pages with "load more"', { timeout: 90_000 }, async () => {
  const before = (await admin('/admin/stats')).pending;
  for (let i = 0; i < 51; i++) {
    const res = await fetch(`${service.origin}/api/comments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        page: '/blog/long-thread/',
        author: `Reader ${i}`,
        email: `queue${i}@example.org`,
        comment: `Comment number ${i} in a long queue, about sleep and the evenings that feel longest.`
      })
    });
    assert.equal(res.status, 201, await res.text());
  }
  const total = before + 51;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${service.origin}/admin`);
  await page.waitForSelector('html[data-moderato-admin="login"]');
  await page.fill('#token', TOKEN);
  await page.press('#token', 'Enter');
  await page.waitForSelector('html[data-moderato-admin="ready"]');
  await waitCounts(page, { pending: total });
  assert.equal((await ids(page)).length, 50);
  assert.ok(await page.isVisible('#more'));
  await page.click('#more');
  await until(async () => (await ids(page)).length === total, { message: 'second page' });
  assert.ok(!(await page.isVisible('#more')));
  const shown = await ids(page);
  assert.equal(new Set(shown).size, shown.length, 'no comment twice');
  assert.deepEqual([...shown].sort().reverse(), shown, 'newest first');
  await context.close();
});
