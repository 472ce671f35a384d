// Browser tests of the embed (issue 5): the real service binary, a blog page
// on another origin with a strict Content-Security-Policy, Debian's Chromium.
//
//   cargo build && (cd tests/browser && npm ci) && node --test tests/browser/
//
// MODERATO_BIN overrides the binary (default target/debug/moderato);
// CHROMIUM_BIN the browser (default /usr/bin/chromium).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  ADMIN_TOKEN, ARTIFACTS, startBlog, startBrowser, startService, until
} from './harness.mjs';

// The suite posts many comments from 127.0.0.1: lift the post quota of the
// main instance so that only the 429 test meets the limiter.
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
// The form-token route comes with the spam rules; until the service has it,
// the embed posts without a token and the browser logs the failed fetch.
let formTokenRoute = true;

function pagePath(name) {
  unique += 1;
  return `/blog/${name}-${unique}/`;
}

before(async () => {
  blog = await startBlog();
  svc = await startService({ blogOrigin: blog.origin, env: GENEROUS_LIMITS });
  blog.serviceOrigin = svc.origin;
  formTokenRoute = (await fetch(`${svc.origin}/api/form-token?page=/probe/`)).status !== 404;
  if (!formTokenRoute) console.log('# note: the service has no GET /api/form-token; the form posts without a token');
  browser = await startBrowser();
});

after(async () => {
  await browser?.close();
  await svc?.stop();
  await blog?.stop();
});

// ---- helpers ---------------------------------------------------------------

/**
 * A reader: a fresh browser context (empty storage) on a blog page. Records
 * every CSP violation, uncaught page error and console error that is not the
 * browser's routine "Failed to load resource" line for an expected 4xx.
 */
async function openReader(path, query = '') {
  const context = await browser.newContext({
    viewport: { width: 900, height: 1400 }, locale: 'en-GB', timezoneId: 'UTC'
  });
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (/Failed to load resource: the server responded with a status of (404|409|422|429|503)/.test(m.text())) return;
    if (!formTokenRoute && /\/api\/form-token|net::ERR_FAILED/.test(m.text())) return;
    problems.push(`console: ${m.text()}`);
  });
  const serviceOrigin = blog.serviceOrigin;
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().startsWith(`${serviceOrigin}/api/comments`)) posts.push(r);
  });
  const url = `${blog.origin}${path}${query ? `?${query}` : ''}`;
  await page.goto(url);
  const reader = {
    page,
    context,
    url,
    serviceOrigin,
    posts,
    thread: page.locator('#moderato-thread'),
    field: (name) => page.getByRole('textbox', { name, exact: true }),
    submit: page.getByRole('button', { name: 'Post Comment' }),
    /** Asserts that nothing broke the page's CSP or threw. */
    async assertClean() {
      const violations = await page.evaluate(() => window.__violations);
      assert.deepEqual(violations, [], 'no Content-Security-Policy violations');
      assert.deepEqual(problems, [], 'no page errors or console errors');
    },
    async close() {
      await context.close();
    }
  };
  // The script loads async: wait until the thread is loaded and shown.
  await page.locator('#moderato-thread[data-moderato-state="ready"] .moderato-root:not([hidden])').waitFor();
  return reader;
}

async function textOf(locator) {
  return (await locator.textContent()).replace(/\s+/g, ' ').trim();
}

async function waitText(locator, expected, message) {
  await until(async () => (await textOf(locator)).includes(expected), {
    message: message || `text "${expected}"`
  });
}

/** Fills the form as a reader would and clicks Post; returns the answer. */
async function postThroughForm(reader, { comment, author = 'Ada Reader', email = 'ada@example.org', url = '' }) {
  await reader.field('Comment').fill(comment);
  await reader.field('Name').fill(author);
  await reader.field('Email').fill(email);
  await reader.field('Website').fill(url);
  const answer = reader.page.waitForResponse(
    (r) => r.url() === `${reader.serviceOrigin}/api/comments` && r.request().method() === 'POST'
  );
  await reader.submit.click();
  const res = await answer;
  return { status: res.status(), body: await res.json().catch(() => null), headers: res.headers() };
}

/** Posts straight to the API (a seed comment) and returns its id. */
async function seedComment(page, fields) {
  const tokenRes = await fetch(`${svc.origin}/api/form-token?page=${encodeURIComponent(page)}`);
  const token = tokenRes.ok ? (await tokenRes.json()).token : undefined;
  const body = {
    page, author: 'Seed Writer', email: 'seed@example.org', homepage: '', form_token: token, ...fields
  };
  const res = await fetch(`${svc.origin}/api/comments`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body)
  });
  assert.equal(res.status, 201, `seed comment accepted: ${await res.clone().text()}`);
  return (await res.json()).id;
}

async function approve(id) {
  const res = await fetch(`${svc.origin}/admin/comments/${encodeURIComponent(id)}/approve`, {
    method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}` }
  });
  assert.equal(res.status, 200, `admin approves ${id}: ${await res.clone().text()}`);
}

async function seedApproved(page, fields) {
  const id = await seedComment(page, fields);
  await approve(id);
  return id;
}

// ---- tests ---------------------------------------------------------------------

describe('embed on a blog page with a strict CSP', () => {
  test('an empty thread and the form render with labels, note and required fields', async () => {
    const reader = await openReader(pagePath('empty'));
    const { page } = reader;
    try {
      assert.equal(await textOf(page.locator('.moderato-count')), 'No comments yet');
      assert.equal(await page.locator('.moderato-comment').count(), 0);
      await page.getByRole('heading', { name: 'Leave a Reply', exact: true }).waitFor();
      assert.equal(await textOf(page.locator('.moderato-note')),
        'Your email address will not be published. Required fields are marked *');

      for (const name of ['Comment', 'Name', 'Email']) {
        assert.equal(await reader.field(name).getAttribute('required'), '', `${name} is required`);
      }
      assert.equal(await reader.field('Website').getAttribute('required'), null, 'Website is optional');
      assert.equal(await reader.field('Email').getAttribute('type'), 'email');
      const remember = page.getByRole('checkbox', {
        name: 'Save my name, email, and website in this browser for the next time I comment.'
      });
      assert.equal(await remember.isChecked(), false, 'consent box starts unticked');
      await reader.submit.waitFor();

      // The honeypot: in the form, empty, but neither in the accessibility
      // tree nor on screen nor in the tab order.
      const hp = page.locator('input[name="homepage"]');
      assert.equal(await hp.count(), 1);
      assert.equal(await hp.inputValue(), '');
      assert.equal(await hp.getAttribute('tabindex'), '-1');
      assert.equal(await hp.getAttribute('autocomplete'), 'off');
      assert.equal(await hp.evaluate((el) => !!el.closest('[aria-hidden="true"]')), true, 'honeypot is aria-hidden');
      assert.equal(await page.getByRole('textbox').count(), 4, 'only Comment, Name, Email and Website are exposed');
      const box = await hp.evaluate((el) => el.getBoundingClientRect().toJSON());
      assert.ok(box.right <= 0, `honeypot is off-screen (embed.css applied): ${JSON.stringify(box)}`);

      // Usable with the keyboard alone: Tab walks the fields in order.
      await reader.field('Comment').focus();
      const order = [];
      for (let i = 0; i < 5; i += 1) {
        await page.keyboard.press('Tab');
        order.push(await page.evaluate(() => document.activeElement.getAttribute('name') || document.activeElement.textContent));
      }
      assert.deepEqual(order, ['author', 'email', 'url', 'remember', 'Post Comment']);

      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });

  test('a comment posted through the form awaits moderation, then shows once approved', async () => {
    const path = pagePath('post');
    const reader = await openReader(path);
    const { page } = reader;
    try {
      // Act
      const answer = await postThroughForm(reader, { comment: 'Thank you, this helped me a lot.', url: 'https://ada.example.org/' });

      // Assert: pending, shown to its writer only
      assert.equal(answer.status, 201);
      assert.equal(answer.body.status, 'pending');
      const id = answer.body.id;
      const sent = JSON.parse(reader.posts[0].postData());
      assert.equal(sent.homepage, '', 'the honeypot is sent, empty');
      if (formTokenRoute) assert.ok(sent.form_token, 'the signed form token is sent');
      await waitText(page.locator('.moderato-form-status'), 'Your comment is awaiting moderation.');
      const mine = page.locator('.moderato-pending');
      await waitText(mine, 'Thank you, this helped me a lot.');
      assert.match(await textOf(mine), /Ada Reader/);
      assert.match(await textOf(mine), /Your comment is awaiting moderation\./);
      assert.equal(await textOf(page.locator('.moderato-count')), 'No comments yet', 'a pending comment is not counted');
      assert.equal(await reader.field('Comment').inputValue(), '', 'the comment box is cleared');
      const stored = await page.evaluate(() => [localStorage.getItem('moderato:identity'), localStorage.getItem('moderato:pending')]);
      assert.deepEqual(stored, [null, null], 'unticked consent: nothing kept beyond this tab');

      const stranger = await openReader(path);
      assert.equal(await stranger.page.locator('.moderato-comment').count(), 0, 'others do not see it');
      await stranger.close();

      // Act: the author approves, the reader reloads
      await approve(id);
      await page.reload();
      const approved = page.locator(`#comment-${id}`);
      await approved.waitFor();

      // Assert
      assert.equal(await page.locator('.moderato-pending').count(), 0, 'the pending copy is gone');
      assert.equal(await textOf(page.locator('.moderato-count')), '1 comment');
      assert.match(await textOf(approved.locator('.moderato-body')), /Thank you, this helped me a lot\./);
      const author = approved.locator('a.moderato-author');
      assert.equal(await author.textContent(), 'Ada Reader');
      assert.equal(await author.getAttribute('href'), 'https://ada.example.org/');
      assert.equal(await author.getAttribute('rel'), 'nofollow ugc noopener');
      assert.equal(await approved.locator('svg.moderato-avatar rect').count() > 1, true, 'identicon drawn');
      assert.ok(await approved.locator('time[datetime]').count(), 'date shown');
      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });

  test('a reply nests under its parent, and depth stops at five levels', async () => {
    const path = pagePath('reply');
    const parentId = await seedApproved(path, { author: 'Grace', comment: 'What helped you most?' });
    const reader = await openReader(path);
    const { page } = reader;
    try {
      // Act: reply through the form
      await page.getByRole('button', { name: 'Reply to Grace' }).click();
      await page.getByRole('heading', { name: 'Leave a Reply to Grace' }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('name')), 'comment', 'focus moves to the comment box');
      const answer = await postThroughForm(reader, { comment: 'Talking to a friend, honestly.' });
      assert.equal(answer.status, 201);
      const body = JSON.parse(reader.posts.at(-1).postData());
      assert.equal(body.parent, parentId, 'the request names the parent');

      // Assert: the pending reply sits under the parent already
      const parentItem = page.locator('li', { has: page.locator(`> #comment-${parentId}`) });
      await parentItem.locator('> ol.moderato-children .moderato-pending').waitFor();
      await page.getByRole('heading', { name: 'Leave a Reply', exact: true }).waitFor();

      // ... and after approval, for everyone
      await approve(answer.body.id);
      await page.reload();
      const reply = parentItem.locator(`> ol.moderato-children > li > #comment-${answer.body.id}`);
      await reply.waitFor();
      assert.equal(await reply.getAttribute('data-depth'), '2');
      assert.equal(await textOf(page.locator('.moderato-count')), '2 comments');

      // A chain deeper than five levels: the sixth and seventh stay at five.
      let parent = answer.body.id;
      const chain = [];
      for (let i = 3; i <= 7; i += 1) {
        parent = await seedApproved(path, { author: `Level ${i}`, comment: `Reply at level ${i}`, parent });
        chain.push(parent);
      }
      await page.reload();
      await page.locator(`#comment-${chain.at(-1)}`).waitFor();
      const depths = [];
      for (const id of chain) depths.push(await page.locator(`#comment-${id}`).getAttribute('data-depth'));
      assert.deepEqual(depths, ['3', '4', '5', '5', '5']);
      assert.equal(await page.locator('.moderato-children .moderato-children .moderato-children .moderato-children .moderato-children').count(), 0,
        'no list deeper than five levels');

      mkdirSync(ARTIFACTS, { recursive: true });
      await reader.thread.screenshot({ path: join(ARTIFACTS, 'thread.png') });
      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });

  test('a missing email: the client says so without a request, the server\'s message shows at the field', async () => {
    const reader = await openReader(pagePath('email'));
    const { page } = reader;
    try {
      // The client-side check mirrors the server's: no request is made.
      await reader.field('Comment').fill('No email given.');
      await reader.field('Name').fill('Nobody');
      await reader.submit.click();
      const email = reader.field('Email');
      await until(async () => (await email.getAttribute('aria-invalid')) === 'true', { message: 'aria-invalid on email' });
      assert.equal(reader.posts.length, 0, 'nothing sent');
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('name')), 'email', 'focus on the invalid field');

      // The server is the authority: strip the email on the way out (as an
      // outdated script or a tampering client would) and show its answer.
      await page.route(`${svc.origin}/api/comments`, async (route) => {
        const req = route.request();
        if (req.method() !== 'POST') return route.continue();
        const sent = JSON.parse(req.postData());
        delete sent.email;
        return route.continue({ postData: JSON.stringify(sent) });
      });
      const answer = await postThroughForm(reader, { comment: 'No email given.', author: 'Nobody', email: 'nobody@example.org' });
      assert.equal(answer.status, 422);
      const message = answer.body.fields.email;
      assert.ok(message, 'server names the email field');

      const errorId = (await email.getAttribute('aria-describedby')).split(' ').find((x) => x.endsWith('-email-error'));
      assert.ok(errorId, 'aria-describedby points at the error');
      await waitText(page.locator(`#${errorId}`), message);
      assert.equal(await email.getAttribute('aria-invalid'), 'true');
      assert.equal(await reader.field('Comment').getAttribute('aria-invalid'), null, 'valid fields are not flagged');

      // Typing in the field clears its error.
      await email.fill('nobody@example.org');
      assert.equal(await email.getAttribute('aria-invalid'), null);
      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });

  test('with the consent box ticked, name, email, website and the pending comment survive a new visit', async () => {
    const path = pagePath('remember');
    const reader = await openReader(path);
    const { page } = reader;
    try {
      await page.getByRole('checkbox', { name: /Save my name/ }).check();
      const answer = await postThroughForm(reader, {
        comment: 'Remember me.', author: 'Rita', email: 'rita@example.org', url: 'rita.example.org'
      });
      assert.equal(answer.status, 201);
      await page.locator('.moderato-pending').waitFor();

      // A new tab of the same browser: sessionStorage is gone, localStorage is not.
      const again = await reader.context.newPage();
      await again.goto(reader.url);
      await again.locator('.moderato-pending', { hasText: 'Remember me.' }).waitFor();
      assert.equal(await again.getByRole('textbox', { name: 'Name', exact: true }).inputValue(), 'Rita');
      assert.equal(await again.getByRole('textbox', { name: 'Email', exact: true }).inputValue(), 'rita@example.org');
      assert.equal(await again.getByRole('textbox', { name: 'Website', exact: true }).inputValue(), 'rita.example.org');
      assert.equal(await again.getByRole('checkbox', { name: /Save my name/ }).isChecked(), true);

      // Unticking on the next post forgets the identity.
      await again.getByRole('checkbox', { name: /Save my name/ }).uncheck();
      await again.getByRole('textbox', { name: 'Comment', exact: true }).fill('Forget me now.');
      await again.getByRole('button', { name: 'Post Comment' }).click();
      await waitText(again.locator('.moderato-form-status'), 'awaiting moderation');
      assert.equal(await again.evaluate(() => localStorage.getItem('moderato:identity')), null);
      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });

  test('a double click on Post sends one request', async () => {
    const reader = await openReader(pagePath('double'));
    const { page } = reader;
    try {
      await reader.field('Comment').fill('Only once, please.');
      await reader.field('Name').fill('Quick Finger');
      await reader.field('Email').fill('quick@example.org');
      await reader.submit.dblclick();
      await waitText(page.locator('.moderato-form-status'), 'Your comment is awaiting moderation.');
      assert.equal(reader.posts.length, 1, 'one POST for a double click');
      assert.equal(await page.locator('.moderato-pending').count(), 1);

      // Two submits in the same task (no chance for the button to be disabled).
      await reader.field('Comment').fill('Twice in one tick.');
      await page.evaluate(() => {
        const form = document.querySelector('.moderato-form');
        form.requestSubmit();
        form.requestSubmit();
      });
      await until(async () => (await page.locator('.moderato-pending').count()) === 2, { message: 'the second comment' });
      assert.equal(reader.posts.length, 2, 'one more POST for two synchronous submits');
      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });

  test('comment counts for list pages come from one /api/counts request', async () => {
    const a = pagePath('count-a');
    const b = pagePath('count-b');
    await seedApproved(a, { comment: 'First on a' });
    await seedApproved(a, { comment: 'Second on a' });
    const context = await browser.newContext();
    const page = await context.newPage();
    const countRequests = [];
    page.on('request', (r) => { if (r.url().includes('/api/counts')) countRequests.push(r.url()); });
    try {
      await page.goto(`${blog.origin}/list/?count=${a},${b},${a}`);
      await until(async () => (await page.locator('.post-0 span').textContent()) === '2', { message: 'count for a' });
      assert.equal(await page.locator('.post-1 span').textContent(), '0');
      assert.equal(await page.locator('.post-2 span').textContent(), '2');
      assert.equal(countRequests.length, 1, 'one request');
      const asked = new URL(countRequests[0]).searchParams.getAll('page');
      assert.deepEqual(asked.sort(), [a, b].sort(), 'each page asked once');
    } finally {
      await context.close();
    }
  });

  test('strings follow the page language and data-text-* overrides', async () => {
    const de = await openReader(pagePath('lang'), 'lang=de');
    try {
      await de.page.getByRole('heading', { name: 'Schreibe einen Kommentar' }).waitFor();
      assert.equal(await textOf(de.page.locator('.moderato-count')), 'Noch keine Kommentare');
      await de.assertClean();
    } finally {
      await de.close();
    }
    const custom = await openReader(pagePath('custom'), 'lang=fr&text-heading=Votre%20avis&text-submit=Envoyer');
    try {
      await custom.page.getByRole('heading', { name: 'Votre avis', exact: true }).waitFor();
      await custom.page.getByRole('button', { name: 'Envoyer' }).waitFor();
      assert.equal(await textOf(custom.page.locator('.moderato-count')), 'Aucun commentaire pour l’instant');
    } finally {
      await custom.close();
    }
  });
});

describe('colour scheme', () => {
  // Luminance of the embed's text colour: > 0.5 is light text (dark theme).
  async function textLuminance(page) {
    await page.locator('.moderato-count').waitFor();
    await page.waitForFunction(() => document.querySelector('#moderato-thread').hasAttribute('data-moderato-scheme'));
    return page.evaluate(() => {
      const [r, g, b] = getComputedStyle(document.querySelector('.moderato-count')).color.match(/[\d.]+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    });
  }

  test('a reader who prefers dark gets dark colours on a page with a dark mode, readable ones on a light-only page', async () => {
    const context = await browser.newContext({ colorScheme: 'dark' });
    const page = await context.newPage();
    try {
      await page.goto(`${blog.origin}${pagePath('dark')}?csp=0&dark=1`);
      assert.ok(await textLuminance(page) > 0.5, 'light text on the dark page');
      await page.goto(`${blog.origin}${pagePath('light-only')}`);
      assert.ok(await textLuminance(page) < 0.5, 'dark text on the light-only page');
    } finally {
      await context.close();
    }
  });
});

describe('without JavaScript', () => {
  // Chromium sends only the origin as Referer on a cross-origin form post
  // (strict-origin-when-cross-origin), so "back to the Referer" lands on the
  // blog's front page unless the service also uses the form's `page` field.
  async function postPlainForm(path) {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(`${blog.origin}${path}?nojs=1`);
      await page.getByLabel('Comment *').fill(`Posted the old way (${path}).`);
      await page.getByLabel('Name *').fill('Plain Reader');
      await page.getByLabel('Email *').fill('plain@example.org');
      await page.getByRole('button', { name: 'Post Comment' }).click();
      await page.waitForURL((u) => u.hash === '#comment-pending');
      return new URL(page.url());
    } finally {
      await context.close();
    }
  }

  test('the plain HTML form posts and is sent back to the blog with #comment-pending', async () => {
    const landed = await postPlainForm(pagePath('nojs'));
    assert.equal(landed.origin, blog.origin, 'back on the blog');
    assert.equal(landed.hash, '#comment-pending');
  });

  test('the plain HTML form comes back to the post itself', async () => {
    const path = pagePath('nojs-path');
    const landed = await postPlainForm(path);
    assert.equal(landed.pathname, path, 'back on the post, not the blog\'s front page');
  });
});

describe('embed with hostile content', () => {
  test('markup in a comment and javascript: links are inert', async () => {
    const path = pagePath('xss');
    const hook = (where) => `window.__moderatoPwned='${where}'`;
    const id = await seedApproved(path, {
      author: `<img src=x onerror="${hook('author')}">Mallory`,
      comment: [
        `Look <img src=x onerror="${hook('img')}">`,
        `<a href="javascript:${hook('link')}">click me</a>`,
        `<script>${hook('script')}</script>`,
        `<svg onload="${hook('svg')}"></svg>`,
        `<p onclick="${hook('onclick')}">plain words</p>`
      ].join('\n')
    });
    // No CSP on this page: if any of it reached the DOM live, it would run.
    const reader = await openReader(path, 'csp=0');
    const { page } = reader;
    try {
      const c = page.locator(`#comment-${id}`);
      await c.waitFor();
      assert.equal(await textOf(c.locator('.moderato-author')), `<img src=x onerror="${hook('author')}">Mallory`,
        'the author name is text');
      const found = await reader.thread.evaluate((root) => {
        const out = [];
        for (const el of root.querySelectorAll('*')) {
          for (const a of el.attributes) {
            if (/^on/i.test(a.name)) out.push(`${el.nodeName} ${a.name}`);
            if (/^\s*javascript:/i.test(a.value)) out.push(`${el.nodeName} ${a.name}=${a.value}`);
          }
          if (/^(IMG|SCRIPT|IFRAME|OBJECT|EMBED)$/.test(el.nodeName)) out.push(el.nodeName);
        }
        return out;
      });
      assert.deepEqual(found, [], 'no handler, script, image or javascript: URL in the thread');
      const link = c.locator('.moderato-body a', { hasText: 'click me' });
      if (await link.count()) await link.click();
      await c.locator('.moderato-body', { hasText: 'plain words' }).click();
      assert.equal(await page.evaluate(() => window.__moderatoPwned), undefined, 'no injected code ran');
      await reader.assertClean();
    } finally {
      await reader.close();
    }
  });
});

describe('embed against a service that publishes at once', () => {
  let live;

  before(async () => {
    // Only the honeypot rule and moderation "rules": a reader's comment goes live.
    const emptyRules = mkdtempSync(join(tmpdir(), 'moderato-live-rules-'));
    writeFileSync(join(emptyRules, 'honeypot.toml'), [
      '[thresholds]', 'hold = 5', 'spam = 10', '',
      '[[rule]]', 'name = "honeypot"', 'kind = "honeypot"', 'description = "the hidden field was filled"',
      'field = "homepage"', 'score = 10', ''
    ].join('\n'));
    live = await startService({
      blogOrigin: blog.origin,
      env: { ...GENEROUS_LIMITS, MODERATO_MODERATION: 'rules', MODERATO_RULES_DIR: emptyRules }
    });
    live.emptyRules = emptyRules;
  });

  after(async () => {
    await live?.stop();
    if (live?.emptyRules) rmSync(live.emptyRules, { recursive: true, force: true });
  });

  test('a comment that went live is shown in the thread at once', async () => {
    const saved = blog.serviceOrigin;
    blog.serviceOrigin = live.origin;
    try {
      const reader = await openReader(pagePath('live'));
      const { page } = reader;
      try {
        const answer = await postThroughForm(reader, { comment: 'Straight to the thread.' });
        assert.equal(answer.status, 201);
        assert.equal(answer.body.status, 'approved');
        await page.locator(`#comment-${answer.body.id}`, { hasText: 'Straight to the thread.' }).waitFor();
        await waitText(page.locator('.moderato-form-status'), 'Your comment has been published.');
        assert.equal(await textOf(page.locator('.moderato-count')), '1 comment');
        assert.equal(await page.locator('.moderato-pending').count(), 0);
        await reader.assertClean();
      } finally {
        await reader.close();
      }
    } finally {
      blog.serviceOrigin = saved;
    }
  });
});

describe('embed against a rate-limited service', () => {
  let limited;

  before(async () => {
    limited = await startService({
      blogOrigin: blog.origin,
      env: { MODERATO_RATE_POST_BURST: '1', MODERATO_RATE_POST_PERIOD_SECS: '600' }
    });
  });

  after(async () => {
    await limited?.stop();
  });

  test('a 429 is shown to the reader with when to try again', async () => {
    const saved = blog.serviceOrigin;
    blog.serviceOrigin = limited.origin;
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${blog.origin}${pagePath('limited')}`);
      const field = (name) => page.getByRole('textbox', { name, exact: true });
      const post = async (comment) => {
        await field('Comment').fill(comment);
        await field('Name').fill('Eager Reader');
        await field('Email').fill('eager@example.org');
        const res = page.waitForResponse((r) => r.url() === `${limited.origin}/api/comments` && r.request().method() === 'POST');
        await page.getByRole('button', { name: 'Post Comment' }).click();
        return res;
      };
      const first = await post('First thought.');
      assert.equal(first.status(), 201);
      await waitText(page.locator('.moderato-form-status'), 'awaiting moderation');
      const second = await post('Second thought, right away.');
      assert.equal(second.status(), 429);
      const retryAfter = Number(second.headers()['retry-after']);
      assert.ok(retryAfter > 0, 'Retry-After sent');
      const error = page.locator('.moderato-form-error');
      await waitText(error, 'You are posting too quickly. Please try again in');
      assert.match(await textOf(error), /try again in (\d+ minutes?|\d+ seconds?)\./,
        'the reader is told when (Retry-After must be exposed to CORS readers)');
      assert.equal(await field('Comment').inputValue(), 'Second thought, right away.', 'the text is kept');
      assert.equal(await page.getByRole('button', { name: 'Post Comment' }).isEnabled(), true, 'the button is usable again');
    } finally {
      blog.serviceOrigin = saved;
      await context.close();
    }
  });
});
