// Browser tests of the reader's side of the conversation (issue 13): Edit and
// Delete for the writer until the window closes, "Load more comments" and
// data-sort on a long thread, the mail boxes (shown only when the service
// can send mail), and axe-core (from npm) over the thread, the form with
// errors shown, and the admin page: no serious or critical violation.
//
//   cargo build && (cd tests/browser && npm ci) && node --test tests/browser/reader.test.mjs

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_TOKEN, freePort, seriousViolations, startBlog, startBrowser, startService, until
} from './harness.mjs';

const GENEROUS_LIMITS = {
  MODERATO_RATE_POST_BURST: '1000',
  MODERATO_RATE_POST_PERIOD_SECS: '1',
  MODERATO_RATE_READ_BURST: '1000',
  MODERATO_RATE_READ_PER_SEC: '1000'
};

let blog;
let svc;
let browser;
let unique = 0;

function pagePath(name) {
  unique += 1;
  return `/blog/${name}-${unique}/`;
}

before(async () => {
  blog = await startBlog();
  svc = await startService({ blogOrigin: blog.origin, env: GENEROUS_LIMITS });
  blog.serviceOrigin = svc.origin;
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await svc?.stop();
  await blog?.stop();
});

async function api(service, path, init = {}) {
  return fetch(`${service.origin}${path}`, init);
}

async function seed(service, page, fields = {}) {
  const res = await api(service, '/api/comments', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ page, author: 'Seed Writer', email: 'seed@example.org', comment: `Seed ${Math.random()}`, ...fields })
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).id;
}

async function approve(service, id) {
  const res = await api(service, `/admin/comments/${id}/approve`, {
    method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
  });
  assert.equal(res.status, 200);
}

async function adminView(service, id) {
  return api(service, `/admin/comments/${id}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
}

/** A reader on a blog page of `service`; records CSP violations and errors. */
async function openReader(service, path, query = '') {
  blog.serviceOrigin = service.origin;
  const context = await browser.newContext({ viewport: { width: 900, height: 1400 }, locale: 'en-GB', timezoneId: 'UTC' });
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (403|404|409|422|429)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${blog.origin}${path}${query ? `?${query}` : ''}`);
  await page.locator('#moderato-thread[data-moderato-state="ready"] .moderato-root:not([hidden])').waitFor();
  return {
    page,
    context,
    field: (name) => page.getByRole('textbox', { name, exact: true }),
    async assertClean() {
      assert.deepEqual(await page.evaluate(() => window.__violations), [], 'no CSP violation');
      assert.deepEqual(problems, [], 'no page or console error');
    },
    close: () => context.close()
  };
}

async function postThroughForm(reader, comment) {
  await reader.field('Comment').fill(comment);
  await reader.field('Name').fill('Ada Reader');
  await reader.field('Email').fill('ada@example.org');
  const answer = reader.page.waitForResponse((r) => r.url().endsWith('/api/comments') && r.request().method() === 'POST');
  await reader.page.getByRole('button', { name: 'Post Comment' }).click();
  const res = await answer;
  return { status: res.status(), body: await res.json() };
}

describe('the writer edits and deletes their comment', () => {
  test('Edit and Delete show for the writer only, change the comment, and are gone once deleted', async () => {
    const path = pagePath('edit');
    const reader = await openReader(svc, path);
    const { page } = reader;
    try {
      const answer = await postThroughForm(reader, 'First words, with a tpyo.');
      assert.equal(answer.status, 201);
      assert.ok(answer.body.edit_token, 'the 201 carries the edit token');
      const mine = page.locator(`#comment-pending-${answer.body.id}`);
      await mine.getByRole('button', { name: 'Edit' }).click();
      const box = page.getByRole('textbox', { name: 'Edit your comment' });
      assert.equal(await box.inputValue(), 'First words, with a tpyo.');
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('name')), 'comment', 'focus in the edit box');
      await box.fill('First words, with no typo.');
      const put = page.waitForResponse((r) => r.request().method() === 'PUT');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal((await put).status(), 200);
      await until(async () => /no typo/.test(await mine.textContent()), { message: 'the pending copy shows the edit' });
      const stored = await (await adminView(svc, answer.body.id)).json();
      assert.equal(stored.text, 'First words, with no typo.');

      // Approved: still the writer's to edit; a stranger sees no button.
      await approve(svc, answer.body.id);
      await page.reload();
      const approved = page.locator(`#comment-${answer.body.id}`);
      await approved.waitFor();
      await approved.getByRole('button', { name: 'Delete' }).waitFor();
      const stranger = await openReader(svc, path);
      await stranger.page.locator(`#comment-${answer.body.id}`).waitFor();
      assert.equal(await stranger.page.getByRole('button', { name: 'Edit' }).count(), 0, 'only the writer may edit');
      await stranger.close();

      page.once('dialog', (d) => d.accept());
      const del = page.waitForResponse((r) => r.request().method() === 'DELETE');
      await approved.getByRole('button', { name: 'Delete' }).click();
      assert.equal((await del).status(), 204);
      await until(async () => (await page.locator(`#comment-${answer.body.id}`).count()) === 0, { message: 'gone from the thread' });
      assert.equal((await adminView(svc, answer.body.id)).status, 404);
      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });

  test('the buttons go when the edit window closes', async () => {
    const short = await startService({ blogOrigin: blog.origin, env: { ...GENEROUS_LIMITS, MODERATO_EDIT_WINDOW: '3s' } });
    try {
      const reader = await openReader(short, pagePath('window'));
      try {
        const answer = await postThroughForm(reader, 'Quick to write.');
        const mine = reader.page.locator(`#comment-pending-${answer.body.id}`);
        await mine.getByRole('button', { name: 'Edit' }).waitFor();
        await until(async () => (await mine.getByRole('button', { name: 'Edit' }).count()) === 0,
          { timeout: 8000, message: 'Edit hidden after the window' });
        assert.equal(await mine.getByRole('button', { name: 'Delete' }).count(), 0);
        await reader.assertClean();
      } finally {
        await reader.close();
      }
    } finally {
      await short.stop();
      blog.serviceOrigin = svc.origin;
    }
  });
});

describe('a long thread', () => {
  test('the first 50 conversations, then "Load more comments"; data-sort="newest" turns them round', async () => {
    const live = await startService({ blogOrigin: blog.origin, env: { ...GENEROUS_LIMITS, MODERATO_MODERATION: 'rules' } });
    const path = pagePath('long');
    try {
      const ids = [];
      for (let i = 0; i < 55; i += 1) ids.push(await seed(live, path, { comment: `Conversation number ${i}, with some words.` }));
      await seed(live, path, { comment: 'A reply to the first.', parent: ids[0] });
      const reader = await openReader(live, path);
      const { page } = reader;
      try {
        const top = page.locator('ol.moderato-comments > li > article');
        assert.equal(await top.count(), 50, 'fifty top-level comments');
        assert.equal(await page.locator('.moderato-children article').count(), 1, 'with their replies');
        assert.equal((await page.locator('.moderato-count').textContent()).trim(), '56 comments');
        const more = page.getByRole('button', { name: 'Load more comments' });
        await more.click();
        await until(async () => (await top.count()) === 55, { message: 'all 55' });
        assert.equal(await more.isVisible(), false, 'no more to load');
        assert.equal(await page.evaluate(() => document.activeElement.id), `comment-${ids[50]}`, 'focus on the first new one');
        await reader.assertClean();
      } finally {
        await reader.close();
      }
      const sorted = await openReader(live, path, 'sort=newest');
      try {
        const first = sorted.page.locator('ol.moderato-comments > li > article').first();
        assert.equal(await first.getAttribute('id'), `comment-${ids[54]}`, 'newest first');
      } finally {
        await sorted.close();
      }
    } finally {
      await live.stop();
      blog.serviceOrigin = svc.origin;
    }
  });
});

describe('the mail boxes', () => {
  test('hidden without SMTP; shown, unticked and translated with it, and sent when ticked', async () => {
    const plain = await openReader(svc, pagePath('no-mail'));
    try {
      assert.equal(await plain.page.getByRole('checkbox', { name: /Notify me/ }).count(), 0, 'no box without SMTP');
    } finally {
      await plain.close();
    }
    const smtpPort = await freePort();
    const mailing = await startService({
      blogOrigin: blog.origin,
      env: {
        ...GENEROUS_LIMITS,
        MODERATO_PUBLIC_URL: 'http://moderato.test',
        MODERATO_SMTP_HOST: '127.0.0.1',
        MODERATO_SMTP_PORT: String(smtpPort),
        MODERATO_SMTP_SECURITY: 'none',
        MODERATO_SMTP_FROM: 'moderato@blog.test',
        MODERATO_SMTP_TO: 'author@blog.test'
      }
    });
    try {
      const reader = await openReader(mailing, pagePath('mail'));
      const { page } = reader;
      try {
        const replies = page.getByRole('checkbox', { name: 'Notify me of follow-up replies by email' });
        const approved = page.getByRole('checkbox', { name: 'Tell me when my comment is approved' });
        await replies.waitFor();
        assert.equal(await replies.isChecked(), false, 'unticked');
        assert.equal(await approved.isChecked(), false, 'unticked');
        await replies.check();
        const sent = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/comments'));
        await postThroughForm(reader, 'Please tell me about replies.');
        const body = JSON.parse((await sent).postData());
        assert.equal(body.notify_replies, true);
        assert.equal(body.notify_approved, undefined, 'an unticked box is not sent');
        await reader.assertClean();
      } finally {
        await reader.close();
      }
      const de = await openReader(mailing, pagePath('mail-de'), 'lang=de');
      try {
        await de.page.getByRole('checkbox', { name: 'Benachrichtige mich über Antworten per E-Mail' }).waitFor();
      } finally {
        await de.close();
      }
    } finally {
      await mailing.stop();
      blog.serviceOrigin = svc.origin;
    }
  });
});

describe('accessibility (axe-core)', () => {
  test('the thread, with replies, a placeholder and a pending comment, has no serious violation and stays a nested list', async () => {
    const path = pagePath('axe-thread');
    const parent = await seed(svc, path, { author: 'Grace', comment: 'What helped you most?' });
    await approve(svc, parent);
    const reply = await seed(svc, path, { author: 'Hal', comment: 'Walking, every day.', parent, url: 'https://hal.example.org/' });
    await approve(svc, reply);
    // Ivy deletes her comment after a reply came: a "deleted" placeholder.
    const ivy = await (await api(svc, '/api/comments', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ page: path, author: 'Ivy', email: 'ivy@example.org', comment: 'I will delete this.' })
    })).json();
    await approve(svc, ivy.id);
    const underIvy = await seed(svc, path, { comment: 'A reply to Ivy.', parent: ivy.id });
    await approve(svc, underIvy);
    const deleted = await api(svc, `/api/comments/${ivy.id}`, {
      method: 'DELETE', headers: { Authorization: `Bearer ${ivy.edit_token}` }
    });
    assert.equal(deleted.status, 204);
    const reader = await openReader(svc, path);
    const { page } = reader;
    try {
      await page.locator(`#comment-${ivy.id}.moderato-deleted`, { hasText: 'This comment was deleted.' }).waitFor();
      await postThroughForm(reader, 'My own comment, awaiting moderation.');
      await page.locator('.moderato-pending').waitFor();
      const violations = await seriousViolations(page, '#moderato-thread');
      assert.deepEqual(violations, [], violations.join('\n'));

      // The replies are a list inside a list item of the thread's list.
      const lists = await page.evaluate(() => {
        const role = (el) => el.getAttribute('role') || el.tagName.toLowerCase();
        const nested = document.querySelector('.moderato-comments > li > ol.moderato-children');
        return { top: role(document.querySelector('.moderato-comments')), nested: nested && role(nested) };
      });
      assert.deepEqual(lists, { top: 'list', nested: 'list' });
      const snapshot = await page.locator('.moderato-comments').ariaSnapshot();
      assert.match(snapshot, /^- list:\n {2}- listitem:/, snapshot);
      assert.match(snapshot, /\n {4}- list:\n {6}- listitem:/, `a nested list is announced:\n${snapshot}`);
    } finally {
      await reader.close();
    }
  });

  test('the form with its errors shown has no serious violation', async () => {
    const reader = await openReader(svc, pagePath('axe-form'));
    const { page } = reader;
    try {
      await reader.field('Email').fill('not an address');
      await page.getByRole('button', { name: 'Post Comment' }).click();
      await until(async () => (await reader.field('Comment').getAttribute('aria-invalid')) === 'true', { message: 'errors shown' });
      const violations = await seriousViolations(page, '#moderato-thread');
      assert.deepEqual(violations, [], violations.join('\n'));
    } finally {
      await reader.close();
    }
  });

  test('the admin page, signed in with comments listed, has no serious violation', async () => {
    await seed(svc, pagePath('axe-admin'), { author: 'Kai', comment: 'A comment for the queue.' });
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${svc.origin}/admin`);
      await page.waitForSelector('html[data-moderato-admin="login"]');
      let violations = await seriousViolations(page);
      assert.deepEqual(violations, [], `sign-in: ${violations.join('\n')}`);
      await page.fill('#token', ADMIN_TOKEN);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('html[data-moderato-admin="ready"]');
      await page.locator('#list > li.comment').first().waitFor();
      violations = await seriousViolations(page);
      assert.deepEqual(violations, [], `queue: ${violations.join('\n')}`);
    } finally {
      await context.close();
    }
  });
});
