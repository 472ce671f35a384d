// The moderation page of moderato. Plain JavaScript, no build step, and safe
// under a strict Content-Security-Policy: no inline code, no eval, no
// inline styles. Reader-controlled text only ever goes into the page as
// text (textContent, attribute values); the one exception is the comment's
// `html`, which the server has already sanitized with its allowlist.
'use strict';

(function () {
  var TOKEN_KEY = 'moderato-admin-token';
  var PAGE_SIZE = 50;
  var STATUSES = ['pending', 'approved', 'spam', 'rejected'];
  var ACTION_STATUS = { approve: 'approved', reject: 'rejected', spam: 'spam' };
  var ACTION_DONE = { approve: 'approved', reject: 'rejected', spam: 'marked as spam', delete: 'deleted' };

  var state = {
    token: null,
    status: 'pending',
    cursor: null,
    current: -1,
    site: null,
    loading: false
  };

  function $(id) { return document.getElementById(id); }

  function setPhase(phase) {
    document.documentElement.setAttribute('data-moderato-admin', phase);
  }

  // el('p', {className: 'x', text: 'y'}, child, ...): text is set as text.
  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        var value = props[key];
        if (value === null || value === undefined) return;
        if (key === 'text') node.textContent = value;
        else if (key === 'className') node.className = value;
        else if (key === 'dataset') Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
        else if (key in node && typeof value !== 'string') node[key] = value;
        else node.setAttribute(key, value);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function say(text, isError) {
    var message = $('message');
    message.textContent = text || '';
    message.classList.toggle('error', !!isError);
  }

  // ---- API ---------------------------------------------------------------

  function ApiError(status, code, message) {
    this.status = status;
    this.code = code;
    this.message = message;
  }

  function api(method, path, body) {
    var headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
    var init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 204) return null;
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.ok) return data;
        var code = data && data.error ? data.error : 'http_' + res.status;
        var message = data && data.message ? data.message : 'The server answered ' + res.status + '.';
        if (data && data.fields) {
          message = Object.keys(data.fields).map(function (k) { return data.fields[k]; }).join(' ');
        }
        var error = new ApiError(res.status, code, message);
        if (res.status === 401) signOut('That token was not accepted. Sign in again.');
        throw error;
      });
    }, function () {
      throw new ApiError(0, 'network', 'The service cannot be reached. Check your connection and try again.');
    });
  }

  // ---- Sign in -----------------------------------------------------------

  function signOut(reason) {
    state.token = null;
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ }
    $('app').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = reason || '';
    $('token').value = '';
    $('token').focus();
    setPhase('login');
  }

  function signIn(token) {
    state.token = token;
    setPhase('loading');
    return api('GET', '/admin/stats').then(function (stats) {
      try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* storage off */ }
      $('login').hidden = true;
      $('app').hidden = false;
      showStats(stats);
      showLearning();
      return showTab(state.status);
    }, function (error) {
      if (error.status !== 401) signOut(error.message);
    });
  }

  // ---- Counts and tabs ---------------------------------------------------

  function showStats(stats) {
    state.site = typeof stats.site === 'string' ? stats.site.replace(/\/+$/, '') : null;
    STATUSES.forEach(function (status) {
      $('count-' + status).textContent = String(stats[status] || 0);
    });
    var pending = stats.pending || 0;
    document.title = (pending ? '(' + pending + ') ' : '') + 'Comments · moderato';
  }

  function refreshStats() {
    showLearning();
    return api('GET', '/admin/stats').then(showStats, function () { /* shown elsewhere */ });
  }

  // The learning line: what the filter learned from the author, and how
  // often it agreed with them lately.
  function showLearning() {
    return api('GET', '/admin/learning').then(function (l) {
      var learned = l.learned || {};
      var text = 'Learning filter' + (l.enabled ? '' : ' (off in the rules)') + ': learned from ' +
        (learned.spam || 0) + ' spam and ' + (learned.ham || 0) + ' approved comments';
      var a = l.agreement || {};
      if (a.decisions) {
        text += '; agreed with you on ' + a.agreed + ' of your last ' + a.decisions + ' decisions';
      }
      if (!l.bins_on_its_own) text += '; it only holds comments until it has learned 20 of each';
      text += '. Model: ' + ((l.model && l.model.features) || 0).toLocaleString() + ' features.';
      $('learning').textContent = text;
    }, function () { $('learning').textContent = ''; });
  }

  function showTab(status) {
    state.status = status;
    state.cursor = null;
    state.current = -1;
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (tab) {
      tab.setAttribute('aria-pressed', tab.dataset.status === status ? 'true' : 'false');
    });
    $('list').textContent = '';
    $('select-all').checked = false;
    updateSelection();
    return loadMore();
  }

  function loadMore() {
    if (state.loading) return Promise.resolve();
    state.loading = true;
    setPhase('loading');
    var status = state.status;
    var query = '?status=' + encodeURIComponent(status) + '&limit=' + PAGE_SIZE;
    if (state.cursor) query += '&cursor=' + encodeURIComponent(state.cursor);
    return api('GET', '/admin/comments' + query).then(function (listing) {
      state.loading = false;
      if (status !== state.status) return;
      var list = $('list');
      listing.comments.forEach(function (c) { list.appendChild(renderComment(c)); });
      state.cursor = listing.next_cursor;
      $('more').hidden = !state.cursor;
      if (state.current < 0 && items().length) setCurrent(0, false);
      afterListChange();
      setPhase('ready');
    }, function (error) {
      state.loading = false;
      setPhase('ready');
      say(error.message, true);
    });
  }

  // ---- One comment -------------------------------------------------------

  function formatTime(rfc3339) {
    var d = new Date(rfc3339);
    return isNaN(d.getTime()) ? rfc3339 : d.toLocaleString();
  }

  function safeHttpUrl(raw, base) {
    try {
      var url = new URL(raw, base || location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function field(label, value) {
    return el('span', { className: 'field' }, el('span', { className: 'label', text: label + ' ' }), value);
  }

  function decisionsList(decisions) {
    if (!decisions || !decisions.length) return el('p', { className: 'muted', text: 'No decisions yet.' });
    var list = el('ol', { className: 'decisions' });
    decisions.forEach(function (d) {
      list.appendChild(el('li', null,
        el('span', { className: 'badge status-' + d.from, text: d.from }), ' → ',
        el('span', { className: 'badge status-' + d.to, text: d.to }),
        ' ', el('time', { datetime: d.at, text: formatTime(d.at) }),
        ' via ' + d.via));
    });
    return list;
  }

  // `link +2`; the learned rule names what weighed most:
  // `learned 0.97: "sugar", link to x.test +5`.
  function hitText(h) {
    var score = (h.score > 0 ? '+' : '') + h.score;
    if (!h.learned) return h.rule + ' ' + score;
    var clues = (h.learned.clues || []).join(', ');
    return 'learned ' + Number(h.learned.probability).toFixed(2) + (clues ? ': ' + clues : '') + ' ' + score;
  }

  function renderComment(c) {
    var item = el('li', {
      className: 'comment',
      tabIndex: -1,
      dataset: { id: c.id, status: c.status },
      'aria-label': 'Comment by ' + c.author
    });
    item._comment = c;

    var pageHref = safeHttpUrl(c.page, state.site ? state.site + '/' : undefined);
    var pageLink = pageHref
      ? el('a', { href: pageHref, target: '_blank', rel: 'noopener noreferrer', text: c.page })
      : el('span', { text: c.page });
    var website = c.url && safeHttpUrl(c.url)
      ? el('a', { href: safeHttpUrl(c.url), target: '_blank', rel: 'nofollow noopener noreferrer', text: c.url })
      : null;

    var hits = el('span', { className: 'hits' });
    (c.hits || []).forEach(function (h) {
      hits.appendChild(el('span', { className: h.learned ? 'hit learned' : 'hit', text: hitText(h) }));
    });

    var select = el('input', { type: 'checkbox', className: 'select', 'aria-label': 'Select comment by ' + c.author });
    select.addEventListener('change', updateSelection);

    var head = el('div', { className: 'head' },
      el('label', { className: 'pick' }, select),
      el('strong', { className: 'author', text: c.author }),
      c.by_author ? el('span', { className: 'badge author-badge', text: 'you' }) : null,
      c.email ? el('span', { className: 'email', text: c.email }) : null,
      website,
      el('time', { className: 'time', datetime: c.created_at, text: formatTime(c.created_at) }));

    var meta = el('div', { className: 'meta' },
      field('on', pageLink),
      c.ip ? field('IP', el('span', { text: c.ip })) : null,
      field('score', el('span', { className: 'score', text: String(c.score) })),
      c.action ? field('rules said', el('span', { text: c.action })) : null,
      // Imported comments: where they came from, and their id there.
      c.origin ? field('imported from', el('span', { className: 'origin', text: c.origin.source + ' #' + c.origin.id })) : null,
      hits.childNodes.length ? hits : null,
      el('span', { className: 'badge status-' + c.status, text: c.status }));

    var body = el('div', { className: 'body' });
    // The server's sanitized HTML (ammonia allowlist): the only HTML inserted.
    body.innerHTML = c.html;

    var actions = el('div', { className: 'actions' });
    [['approve', 'Approve', 'a'], ['reject', 'Reject', 'r'], ['spam', 'Spam', 's'], ['delete', 'Delete', '']]
      .forEach(function (a) {
        var button = el('button', {
          type: 'button',
          className: a[0] === 'delete' ? 'danger' : '',
          dataset: { action: a[0] },
          text: a[1],
          title: a[2] ? 'Key: ' + a[2] : 'Delete for good'
        });
        if (ACTION_STATUS[a[0]] === c.status) button.disabled = true;
        button.addEventListener('click', function () { decide(item, a[0]); });
        actions.appendChild(button);
      });

    item.appendChild(head);
    item.appendChild(meta);
    item.appendChild(body);
    item.appendChild(actions);
    item.appendChild(renderDetails(item, c));
    item.addEventListener('click', function (event) {
      var index = items().indexOf(item);
      if (index >= 0 && event.target.closest('a, button, input, textarea, summary') === null) setCurrent(index, false);
    });
    return item;
  }

  function renderDetails(item, c) {
    var details = el('details', { className: 'details' },
      el('summary', { text: 'Details and reply' }),
      el('h3', { text: 'As typed' }),
      el('pre', { className: 'text', text: c.text }),
      c.user_agent ? el('p', { className: 'muted' }, field('Browser', el('span', { text: c.user_agent }))) : null,
      el('p', { className: 'muted' }, field('Last change', el('time', { datetime: c.updated_at, text: formatTime(c.updated_at) }))),
      el('h3', { text: 'Decisions' }),
      decisionsList(c.decisions));

    if (c.status === 'pending' || c.status === 'approved') {
      var textarea = el('textarea', { rows: 3, maxLength: 10000, 'aria-label': 'Your reply to ' + c.author });
      var note = c.status === 'pending' ? 'Publishing a reply also approves this comment.' : '';
      var form = el('form', { className: 'reply' },
        el('h3', { text: 'Reply as the author' }),
        textarea,
        note ? el('p', { className: 'muted', text: note }) : null,
        el('button', { type: 'submit', text: 'Publish reply' }));
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        reply(item, textarea);
      });
      details.appendChild(form);
    }
    return details;
  }

  // ---- Decisions ---------------------------------------------------------

  function items() {
    return Array.prototype.slice.call($('list').children);
  }

  function setCurrent(index, focus) {
    var all = items();
    if (!all.length) { state.current = -1; return; }
    index = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (node, i) { node.classList.toggle('current', i === index); });
    state.current = index;
    if (focus) {
      all[index].focus({ preventScroll: true });
      all[index].scrollIntoView({ block: 'nearest' });
    }
  }

  function currentItem() {
    var all = items();
    return state.current >= 0 && state.current < all.length ? all[state.current] : null;
  }

  // The item leaves this tab (decided elsewhere, or deleted); the cursor
  // stays on the same position, which is now the next comment.
  function removeItem(item) {
    var all = items();
    var index = all.indexOf(item);
    if (index < 0) return;
    var hadFocus = item.contains(document.activeElement);
    item.remove();
    if (index < state.current) state.current -= 1;
    setCurrent(state.current, hadFocus);
  }

  function afterListChange() {
    var empty = items().length === 0;
    $('empty').hidden = !empty;
    if (empty) state.current = -1;
    updateSelection();
  }

  function replaceItem(item, comment) {
    var fresh = renderComment(comment);
    var wasCurrent = item.classList.contains('current');
    item.replaceWith(fresh);
    if (wasCurrent) fresh.classList.add('current');
    return fresh;
  }

  function decide(item, action) {
    var c = item._comment;
    if (action === 'delete' && !window.confirm('Delete the comment by ' + c.author + ' for good?')) return;
    var request = action === 'delete'
      ? api('DELETE', '/admin/comments/' + encodeURIComponent(c.id))
      : api('POST', '/admin/comments/' + encodeURIComponent(c.id) + '/' + action);
    item.classList.add('busy');
    return request.then(function (updated) {
      say('Comment by ' + c.author + ' ' + ACTION_DONE[action] + '.');
      if (action === 'delete' || (updated && updated.status !== state.status)) removeItem(item);
      else if (updated) replaceItem(item, updated);
      afterListChange();
      return refreshStats();
    }, function (error) {
      item.classList.remove('busy');
      if (error.status === 404) {
        say('That comment no longer exists.', true);
        removeItem(item);
        afterListChange();
        return refreshStats();
      }
      say(error.message, true);
    });
  }

  function reply(item, textarea) {
    var c = item._comment;
    var text = textarea.value.trim();
    if (!text) { textarea.focus(); return; }
    var button = item.querySelector('form.reply button');
    if (button) button.disabled = true;
    return api('POST', '/admin/comments/' + encodeURIComponent(c.id) + '/reply', { comment: text })
      .then(function (answer) {
        say('Your reply to ' + c.author + ' is published.');
        var parent = answer.parent;
        if (parent.status !== state.status) removeItem(item);
        else {
          var fresh = replaceItem(item, parent);
          var details = fresh.querySelector('details');
          if (details) details.open = true;
        }
        afterListChange();
        return refreshStats();
      }, function (error) {
        if (button) button.disabled = false;
        say(error.message, true);
      });
  }

  // ---- Selection and bulk ------------------------------------------------

  function selectedItems() {
    return items().filter(function (item) {
      var box = item.querySelector('input.select');
      return box && box.checked;
    });
  }

  function updateSelection() {
    var n = selectedItems().length;
    var total = items().length;
    $('selected-count').textContent = n + ' selected';
    $('select-all').checked = total > 0 && n === total;
    $('select-all').indeterminate = n > 0 && n < total;
    Array.prototype.forEach.call(document.querySelectorAll('[data-bulk]'), function (b) {
      b.disabled = n === 0;
    });
    items().forEach(function (item) {
      var box = item.querySelector('input.select');
      item.classList.toggle('selected', !!(box && box.checked));
    });
  }

  function bulk(action) {
    var chosen = selectedItems();
    if (!chosen.length) return;
    if (action === 'delete' && !window.confirm('Delete ' + chosen.length + ' comments for good?')) return;
    var byId = {};
    chosen.forEach(function (item) { byId[item._comment.id] = item; item.classList.add('busy'); });
    return api('POST', '/admin/comments/bulk', { ids: Object.keys(byId), action: action })
      .then(function (answer) {
        var done = 0;
        var failed = 0;
        answer.results.forEach(function (r) {
          var item = byId[r.id];
          if (!item) return;
          item.classList.remove('busy');
          if (r.ok) {
            done += 1;
            if (r.status !== state.status) removeItem(item);
          } else if (r.error === 'not_found') {
            failed += 1;
            removeItem(item);
          } else {
            failed += 1;
          }
        });
        say(done + (done === 1 ? ' comment ' : ' comments ') + ACTION_DONE[action] + '.' +
          (failed ? ' ' + failed + ' could not be changed.' : ''), failed > 0);
        afterListChange();
        return refreshStats().then(function () {
          // Keep the list full enough to go on with the keyboard.
          if (!items().length && state.cursor) return showTab(state.status);
        });
      }, function (error) {
        chosen.forEach(function (item) { item.classList.remove('busy'); });
        say(error.message, true);
      });
  }

  // ---- Keyboard ----------------------------------------------------------

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!state.token || $('app').hidden) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var item = currentItem();
    switch (event.key) {
      case 'j':
        setCurrent(state.current + 1, true);
        break;
      case 'k':
        setCurrent(state.current - 1, true);
        break;
      case 'a':
      case 'r':
      case 's':
        if (!item) return;
        decide(item, { a: 'approve', r: 'reject', s: 'spam' }[event.key]);
        break;
      case 'x':
        if (!item) return;
        var box = item.querySelector('input.select');
        box.checked = !box.checked;
        updateSelection();
        break;
      case 'o':
        if (!item) return;
        var details = item.querySelector('details');
        details.open = !details.open;
        break;
      default:
        return;
    }
    event.preventDefault();
  }

  // ---- Start -------------------------------------------------------------

  function start() {
    $('login-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var token = $('token').value.trim();
      if (!token) return;
      $('login-error').textContent = '';
      signIn(token);
    });
    $('logout').addEventListener('click', function () { signOut(''); });
    Array.prototype.forEach.call(document.querySelectorAll('.tab'), function (tab) {
      tab.addEventListener('click', function () { say(''); showTab(tab.dataset.status); });
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-bulk]'), function (button) {
      button.addEventListener('click', function () { bulk(button.dataset.bulk); });
    });
    $('select-all').addEventListener('change', function () {
      var on = $('select-all').checked;
      items().forEach(function (item) { item.querySelector('input.select').checked = on; });
      updateSelection();
    });
    $('more').addEventListener('click', loadMore);
    document.addEventListener('keydown', onKey);

    var saved = null;
    try { saved = sessionStorage.getItem(TOKEN_KEY); } catch (e) { saved = null; }
    if (saved) signIn(saved);
    else signOut('');
  }

  start();
})();
