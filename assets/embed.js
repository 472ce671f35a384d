/*! moderato embed: the comment thread and "Leave a Reply" form.
 * Plain JavaScript, no build step. Safe under a strict Content-Security-Policy:
 * no inline handlers, no style attributes, no eval. Reader-controlled text is
 * only ever inserted as text; the one piece of markup is the server's
 * sanitized `html` field, filtered once more here before it is attached. */
(function () {
  'use strict';

  var script = document.currentScript ||
    document.querySelector('script[src*="/embed.js"]');
  if (!script || !script.src) return;
  // The service address comes from the script's own src, so a service that
  // lives under a path prefix (https://example.org/comments/embed.js) works.
  var BASE = new URL('.', script.src).href;
  var NS = 'http://www.w3.org/2000/svg';
  var MAX_DEPTH = 5;
  var WEEK_MS = 7 * 24 * 3600 * 1000;
  var PENDING_KEY = 'moderato:pending';
  // The writer's edit tokens, by comment id: {token, until}.
  var EDITS_KEY = 'moderato:edits';
  var PAGE_SIZE = 50;
  var IDENTITY_KEY = 'moderato:identity';
  var TOKEN_REFRESH_MS = 12 * 3600 * 1000;

  // ---- strings ------------------------------------------------------------
  // Every visible string, by key. A page overrides one with a data- attribute
  // on #moderato-thread: key `cookiesConsent` -> `data-text-cookies-consent`.
  // `{n}`, `{name}`, `{when}` and `{max}` are placeholders.
  var STRINGS = {
    en: {
      loading: 'Loading comments…',
      loadError: 'Comments could not be loaded.',
      countZero: 'No comments yet',
      countOne: '1 comment',
      countOther: '{n} comments',
      heading: 'Leave a Reply',
      headingReply: 'Leave a Reply to {name}',
      cancelReply: 'Cancel reply',
      note: 'Your email address will not be published.',
      requiredNote: 'Required fields are marked *',
      comment: 'Comment',
      name: 'Name',
      email: 'Email',
      website: 'Website',
      cookiesConsent: 'Save my name, email, and website in this browser for the next time I comment.',
      submit: 'Post Comment',
      submitting: 'Posting…',
      reply: 'Reply',
      replyTo: 'Reply to {name}',
      byAuthor: 'Author',
      awaiting: 'Your comment is awaiting moderation.',
      published: 'Your comment has been published.',
      honeypot: 'Leave this field empty',
      required: 'This field is required.',
      invalidEmail: 'Please enter a valid email address.',
      invalidUrl: 'Please enter a web address starting with http:// or https://.',
      tooLong: 'This is too long (at most {max} characters).',
      fixFields: 'Please correct the marked fields.',
      rateLimited: 'You are posting too quickly. Please try again {when}.',
      rateLimitedLater: 'You are posting too quickly. Please try again later.',
      unavailable: 'Comments are paused for a moment. Please try again {when}.',
      unavailableLater: 'Comments are paused for a moment. Please try again later.',
      duplicate: 'It looks as though you already said that.',
      payloadTooLarge: 'Your comment is too long.',
      networkError: 'The comment could not be sent. Please check your connection and try again.',
      genericError: 'Something went wrong. Please try again.',
      loadMore: 'Load more comments',
      notifyReplies: 'Notify me of follow-up replies by email',
      notifyApproved: 'Tell me when my comment is approved',
      notifyNote: 'You will get one email to confirm your address first.',
      edit: 'Edit',
      editLabel: 'Edit your comment',
      save: 'Save',
      cancelEdit: 'Cancel',
      remove: 'Delete',
      removeConfirm: 'Delete your comment? This cannot be undone.',
      deleted: 'This comment was deleted.',
      editFailed: 'Your change could not be saved. The time to edit may have passed.',
      editAwaiting: 'Your edited comment is awaiting moderation.'
    },
    de: {
      loading: 'Kommentare werden geladen …',
      loadError: 'Die Kommentare konnten nicht geladen werden.',
      countZero: 'Noch keine Kommentare',
      countOne: '1 Kommentar',
      countOther: '{n} Kommentare',
      heading: 'Schreibe einen Kommentar',
      headingReply: 'Antworte auf {name}',
      cancelReply: 'Antworten abbrechen',
      note: 'Deine E-Mail-Adresse wird nicht veröffentlicht.',
      requiredNote: 'Erforderliche Felder sind mit * markiert.',
      comment: 'Kommentar',
      name: 'Name',
      email: 'E-Mail',
      website: 'Website',
      cookiesConsent: 'Meinen Namen, meine E-Mail-Adresse und meine Website in diesem Browser für die nächste Kommentierung speichern.',
      submit: 'Kommentar abschicken',
      submitting: 'Wird gesendet …',
      reply: 'Antworten',
      replyTo: 'Antworte auf {name}',
      byAuthor: 'Autor',
      awaiting: 'Dein Kommentar wartet auf Freischaltung.',
      published: 'Dein Kommentar wurde veröffentlicht.',
      honeypot: 'Dieses Feld bitte leer lassen',
      required: 'Dieses Feld ist erforderlich.',
      invalidEmail: 'Bitte gib eine gültige E-Mail-Adresse ein.',
      invalidUrl: 'Bitte gib eine Webadresse ein, die mit http:// oder https:// beginnt.',
      tooLong: 'Das ist zu lang (höchstens {max} Zeichen).',
      fixFields: 'Bitte korrigiere die markierten Felder.',
      rateLimited: 'Du schreibst zu schnell. Bitte versuche es {when} erneut.',
      rateLimitedLater: 'Du schreibst zu schnell. Bitte versuche es später erneut.',
      unavailable: 'Kommentare sind gerade pausiert. Bitte versuche es {when} erneut.',
      unavailableLater: 'Kommentare sind gerade pausiert. Bitte versuche es später erneut.',
      duplicate: 'Es sieht so aus, als hättest du das schon geschrieben.',
      payloadTooLarge: 'Dein Kommentar ist zu lang.',
      networkError: 'Der Kommentar konnte nicht gesendet werden. Bitte prüfe deine Verbindung und versuche es erneut.',
      genericError: 'Etwas ist schiefgelaufen. Bitte versuche es erneut.',
      loadMore: 'Weitere Kommentare laden',
      notifyReplies: 'Benachrichtige mich über Antworten per E-Mail',
      notifyApproved: 'Sag mir Bescheid, wenn mein Kommentar freigeschaltet ist',
      notifyNote: 'Du bekommst zuerst eine E-Mail, um deine Adresse zu bestätigen.',
      edit: 'Bearbeiten',
      editLabel: 'Deinen Kommentar bearbeiten',
      save: 'Speichern',
      cancelEdit: 'Abbrechen',
      remove: 'Löschen',
      removeConfirm: 'Deinen Kommentar löschen? Das lässt sich nicht rückgängig machen.',
      deleted: 'Dieser Kommentar wurde gelöscht.',
      editFailed: 'Deine Änderung konnte nicht gespeichert werden. Die Zeit zum Bearbeiten ist vielleicht abgelaufen.',
      editAwaiting: 'Dein geänderter Kommentar wartet auf Freischaltung.'
    },
    fr: {
      loading: 'Chargement des commentaires…',
      loadError: 'Les commentaires n’ont pas pu être chargés.',
      countZero: 'Aucun commentaire pour l’instant',
      countOne: '1 commentaire',
      countOther: '{n} commentaires',
      heading: 'Laisser un commentaire',
      headingReply: 'Répondre à {name}',
      cancelReply: 'Annuler la réponse',
      note: 'Votre adresse e-mail ne sera pas publiée.',
      requiredNote: 'Les champs obligatoires sont indiqués avec *',
      comment: 'Commentaire',
      name: 'Nom',
      email: 'E-mail',
      website: 'Site web',
      cookiesConsent: 'Enregistrer mon nom, mon e-mail et mon site dans le navigateur pour mon prochain commentaire.',
      submit: 'Laisser un commentaire',
      submitting: 'Envoi…',
      reply: 'Répondre',
      replyTo: 'Répondre à {name}',
      byAuthor: 'Auteur',
      awaiting: 'Votre commentaire est en attente de modération.',
      published: 'Votre commentaire a été publié.',
      honeypot: 'Laissez ce champ vide',
      required: 'Ce champ est obligatoire.',
      invalidEmail: 'Veuillez saisir une adresse e-mail valide.',
      invalidUrl: 'Veuillez saisir une adresse web commençant par http:// ou https://.',
      tooLong: 'C’est trop long ({max} caractères au plus).',
      fixFields: 'Veuillez corriger les champs indiqués.',
      rateLimited: 'Vous publiez trop vite. Veuillez réessayer {when}.',
      rateLimitedLater: 'Vous publiez trop vite. Veuillez réessayer plus tard.',
      unavailable: 'Les commentaires sont en pause. Veuillez réessayer {when}.',
      unavailableLater: 'Les commentaires sont en pause. Veuillez réessayer plus tard.',
      duplicate: 'Il semble que vous ayez déjà dit cela.',
      payloadTooLarge: 'Votre commentaire est trop long.',
      networkError: 'Le commentaire n’a pas pu être envoyé. Vérifiez votre connexion et réessayez.',
      genericError: 'Une erreur est survenue. Veuillez réessayer.',
      loadMore: 'Afficher plus de commentaires',
      notifyReplies: 'Me prévenir des réponses par e-mail',
      notifyApproved: 'Me prévenir quand mon commentaire est publié',
      notifyNote: 'Vous recevrez d’abord un e-mail pour confirmer votre adresse.',
      edit: 'Modifier',
      editLabel: 'Modifier votre commentaire',
      save: 'Enregistrer',
      cancelEdit: 'Annuler',
      remove: 'Supprimer',
      removeConfirm: 'Supprimer votre commentaire ? C’est définitif.',
      deleted: 'Ce commentaire a été supprimé.',
      editFailed: 'Votre modification n’a pas pu être enregistrée. Le délai pour modifier est peut-être passé.',
      editAwaiting: 'Votre commentaire modifié est en attente de modération.'
    },
    es: {
      loading: 'Cargando comentarios…',
      loadError: 'No se pudieron cargar los comentarios.',
      countZero: 'Todavía no hay comentarios',
      countOne: '1 comentario',
      countOther: '{n} comentarios',
      heading: 'Deja una respuesta',
      headingReply: 'Responder a {name}',
      cancelReply: 'Cancelar la respuesta',
      note: 'Tu dirección de correo electrónico no será publicada.',
      requiredNote: 'Los campos obligatorios están marcados con *',
      comment: 'Comentario',
      name: 'Nombre',
      email: 'Correo electrónico',
      website: 'Web',
      cookiesConsent: 'Guarda mi nombre, correo electrónico y web en este navegador para la próxima vez que comente.',
      submit: 'Publicar el comentario',
      submitting: 'Publicando…',
      reply: 'Responder',
      replyTo: 'Responder a {name}',
      byAuthor: 'Autor',
      awaiting: 'Tu comentario está pendiente de moderación.',
      published: 'Tu comentario ha sido publicado.',
      honeypot: 'Deja este campo vacío',
      required: 'Este campo es obligatorio.',
      invalidEmail: 'Introduce una dirección de correo electrónico válida.',
      invalidUrl: 'Introduce una dirección web que empiece por http:// o https://.',
      tooLong: 'Es demasiado largo (como máximo {max} caracteres).',
      fixFields: 'Corrige los campos marcados.',
      rateLimited: 'Estás publicando demasiado rápido. Vuelve a intentarlo {when}.',
      rateLimitedLater: 'Estás publicando demasiado rápido. Vuelve a intentarlo más tarde.',
      unavailable: 'Los comentarios están en pausa. Vuelve a intentarlo {when}.',
      unavailableLater: 'Los comentarios están en pausa. Vuelve a intentarlo más tarde.',
      duplicate: 'Parece que ya has dicho eso.',
      payloadTooLarge: 'Tu comentario es demasiado largo.',
      networkError: 'No se pudo enviar el comentario. Comprueba tu conexión y vuelve a intentarlo.',
      genericError: 'Algo salió mal. Vuelve a intentarlo.',
      loadMore: 'Cargar más comentarios',
      notifyReplies: 'Avísame por correo electrónico de las respuestas',
      notifyApproved: 'Avísame cuando se publique mi comentario',
      notifyNote: 'Primero recibirás un correo para confirmar tu dirección.',
      edit: 'Editar',
      editLabel: 'Edita tu comentario',
      save: 'Guardar',
      cancelEdit: 'Cancelar',
      remove: 'Eliminar',
      removeConfirm: '¿Eliminar tu comentario? No se puede deshacer.',
      deleted: 'Este comentario fue eliminado.',
      editFailed: 'No se pudo guardar tu cambio. Puede que el plazo para editar haya pasado.',
      editAwaiting: 'Tu comentario editado está pendiente de moderación.'
    }
  };

  var LANG = ((document.documentElement.getAttribute('lang') || 'en')
    .toLowerCase().split('-')[0]);
  if (!STRINGS[LANG]) LANG = 'en';

  function strings(host) {
    var base = STRINGS[LANG];
    var out = {};
    Object.keys(STRINGS.en).forEach(function (key) {
      var attr = host && host.dataset['text' + key.charAt(0).toUpperCase() + key.slice(1)];
      out[key] = attr != null ? attr : (base[key] != null ? base[key] : STRINGS.en[key]);
    });
    return out;
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) {
      return values && values[k] != null ? String(values[k]) : m;
    });
  }

  // "Required fields are marked *": the star gets its own span for styling.
  function starred(text) {
    var i = text.indexOf('*');
    if (i < 0) return [text];
    return [text.slice(0, i), el('span', { 'class': 'moderato-required', text: '*' }), text.slice(i + 1)];
  }

  function countText(t, n) {
    return n === 0 ? t.countZero : fmt(n === 1 ? t.countOne : t.countOther, { n: n });
  }

  // ---- small DOM helpers (attributes only, never markup) --------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === false || v == null) return;
        if (k === 'text') node.textContent = v;
        else node.setAttribute(k, v === true ? '' : v);
      });
    }
    (children || []).forEach(function (c) {
      if (c != null) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  function api(path) {
    return new URL(path.replace(/^\//, ''), BASE).href;
  }

  function safeHttpUrl(s) {
    try {
      var u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function chars(s) {
    return Array.from(s).length;
  }

  function bytes(s) {
    return unescape(encodeURIComponent(s)).length;
  }

  // The server's pragmatic email syntax: what a reader can mistype.
  function validEmail(email) {
    var at = email.lastIndexOf('@');
    if (at < 0) return false;
    var local = email.slice(0, at);
    var labels = email.slice(at + 1).split('.');
    if (!local || bytes(local) > 64 || /[\s\u0000-\u001f\u007f<>()[\]\\,;:"@]/.test(local)) return false;
    if (local.charAt(0) === '.' || local.slice(-1) === '.' || local.indexOf('..') >= 0) return false;
    return labels.length >= 2 && labels.every(function (l) {
      return l && bytes(l) <= 63 && l.charAt(0) !== '-' && l.slice(-1) !== '-' && /^[\p{L}\p{N}-]+$/u.test(l);
    });
  }

  // The website field as the server reads it: `example.org` means https://.
  function websiteUrl(raw) {
    var colon = raw.indexOf(':');
    var hasScheme = colon > 0 && raw.slice(0, colon).indexOf('.') < 0;
    try {
      var u = new URL(hasScheme ? raw : 'https://' + raw);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname && !u.username && !u.password;
    } catch (e) {
      return false;
    }
  }

  // ---- the server's sanitized html, filtered once more ----------------------
  // The server sanitizes with ammonia; this is a second, independent line:
  // the markup is parsed into an inert <template>, and only known-harmless
  // elements and attributes are adopted into the page.
  var ALLOWED_TAGS = /^(A|ABBR|B|BLOCKQUOTE|BR|CITE|CODE|DEL|EM|I|INS|KBD|LI|OL|P|PRE|Q|S|SMALL|STRONG|SUB|SUP|U|UL)$/;
  var DROPPED_TAGS = /^(SCRIPT|STYLE|TEMPLATE|IFRAME|OBJECT|EMBED|SVG|MATH|NOSCRIPT|TEXTAREA|SELECT|TITLE)$/;

  function cleanTree(parent) {
    Array.prototype.slice.call(parent.childNodes).forEach(function (node) {
      if (node.nodeType === 3) return;
      if (node.nodeType !== 1) { parent.removeChild(node); return; }
      if (DROPPED_TAGS.test(node.nodeName)) { parent.removeChild(node); return; }
      cleanTree(node);
      if (!ALLOWED_TAGS.test(node.nodeName)) {
        // Unknown element (img, form, ...): keep its text, drop the element.
        while (node.firstChild) parent.insertBefore(node.firstChild, node);
        parent.removeChild(node);
        return;
      }
      Array.prototype.slice.call(node.attributes).forEach(function (a) {
        var keep = (a.name === 'title') ||
          (a.name === 'href' && node.nodeName === 'A' && /^(https?:|mailto:)/i.test(a.value.trim()));
        if (!keep) node.removeAttribute(a.name);
      });
      if (node.nodeName === 'A') node.setAttribute('rel', 'nofollow ugc noopener noreferrer');
    });
  }

  function sanitizedFragment(html) {
    var tpl = document.createElement('template');
    tpl.innerHTML = String(html || ''); // inert: a template's content has no browsing context
    cleanTree(tpl.content);
    return document.importNode(tpl.content, true);
  }

  // ---- identicon ------------------------------------------------------------
  // A 5x5 mirrored pattern drawn from the opaque `avatar` string: no request.
  function avatarBytes(s) {
    // FNV-1a over the whole string, then stretched: every character of the
    // opaque string changes the picture.
    s = String(s || '');
    var h = 2166136261;
    for (var i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 16777619) >>> 0;
    }
    var bytes = [];
    for (var j = 0; j < 18; j++) {
      h ^= j + 1;
      h = Math.imul(h, 16777619) >>> 0;
      h ^= h >>> 13;
      bytes.push(h & 255);
    }
    return bytes;
  }

  function identicon(avatar) {
    var b = avatarBytes(avatar);
    var hue = ((b[0] << 8) | b[1]) % 360;
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'moderato-avatar');
    svg.setAttribute('viewBox', '0 0 5 5');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var bg = document.createElementNS(NS, 'rect');
    bg.setAttribute('width', '5');
    bg.setAttribute('height', '5');
    bg.setAttribute('fill', 'hsl(' + hue + ' 40% 92%)');
    svg.appendChild(bg);
    var fg = 'hsl(' + hue + ' 55% ' + (35 + (b[2] % 20)) + '%)';
    for (var y = 0; y < 5; y++) {
      for (var x = 0; x < 3; x++) {
        if (!(b[3 + y * 3 + x] & 1)) continue;
        [x, 4 - x].forEach(function (xx, i) {
          if (i === 1 && xx === x) return;
          var r = document.createElementNS(NS, 'rect');
          r.setAttribute('x', String(xx));
          r.setAttribute('y', String(y));
          r.setAttribute('width', '1');
          r.setAttribute('height', '1');
          r.setAttribute('fill', fg);
          svg.appendChild(r);
        });
      }
    }
    return svg;
  }

  // ---- storage (pending comments, remembered identity) ----------------------
  function store(kind) {
    try { return window[kind]; } catch (e) { return null; }
  }

  function readPending() {
    var now = Date.now();
    var all = [];
    ['localStorage', 'sessionStorage'].forEach(function (kind) {
      var s = store(kind);
      if (!s) return;
      try {
        var list = JSON.parse(s.getItem(PENDING_KEY) || '[]');
        var fresh = list.filter(function (p) { return p && p.expires > now; });
        if (fresh.length !== list.length) writeList(s, fresh);
        fresh.forEach(function (p) { p.kind = kind; all.push(p); });
      } catch (e) { /* unreadable entry: ignore */ }
    });
    return all;
  }

  function writeList(s, list) {
    try {
      if (list.length) s.setItem(PENDING_KEY, JSON.stringify(list));
      else s.removeItem(PENDING_KEY);
    } catch (e) { /* storage full or denied */ }
  }

  function addPending(entry, persistent) {
    var s = store(persistent ? 'localStorage' : 'sessionStorage');
    if (!s) return;
    var list;
    try { list = JSON.parse(s.getItem(PENDING_KEY) || '[]'); } catch (e) { list = []; }
    list.push(entry);
    writeList(s, list);
  }

  function dropPending(ids) {
    ['localStorage', 'sessionStorage'].forEach(function (kind) {
      var s = store(kind);
      if (!s) return;
      try {
        var list = JSON.parse(s.getItem(PENDING_KEY) || '[]');
        var kept = list.filter(function (p) { return ids.indexOf(p.id) < 0; });
        if (kept.length !== list.length) writeList(s, kept);
      } catch (e) { /* ignore */ }
    });
  }

  // Rewrites the pending entry `id` in whichever storage holds it.
  function updatePending(id, change) {
    ['localStorage', 'sessionStorage'].forEach(function (kind) {
      var s = store(kind);
      if (!s) return;
      try {
        var list = JSON.parse(s.getItem(PENDING_KEY) || '[]');
        list.forEach(function (p) { if (p && p.id === id) change(p); });
        writeList(s, list);
      } catch (e) { /* ignore */ }
    });
  }

  // ---- edit tokens: kept where the pending comments are, until they expire --
  function eachEdits(change) {
    var now = Date.now();
    var out = {};
    ['localStorage', 'sessionStorage'].forEach(function (kind) {
      var s = store(kind);
      if (!s) return;
      try {
        var map = JSON.parse(s.getItem(EDITS_KEY) || '{}') || {};
        var before = JSON.stringify(map);
        if (change) change(map, kind);
        Object.keys(map).forEach(function (id) {
          if (!map[id] || !(map[id].until > now)) delete map[id];
          else { map[id].kind = kind; out[id] = map[id]; }
        });
        var after = JSON.stringify(map);
        if (after !== before) {
          if (Object.keys(map).length) s.setItem(EDITS_KEY, after);
          else s.removeItem(EDITS_KEY);
        }
      } catch (e) { /* storage full or denied */ }
    });
    return out;
  }

  function addEdit(id, grant, persistent) {
    eachEdits(function (map, kind) {
      if (kind === (persistent ? 'localStorage' : 'sessionStorage')) map[id] = grant;
    });
  }

  function changeEdit(id, change) {
    eachEdits(function (map) { if (map[id]) change(map[id]); });
  }

  function dropEdit(id) {
    eachEdits(function (map) { delete map[id]; });
  }

  // ---- retry-after ----------------------------------------------------------
  function retryWhen(res, body) {
    var secs = null;
    var h = res.headers.get('Retry-After');
    if (h != null && /^\d+$/.test(h.trim())) secs = parseInt(h, 10);
    else if (h) {
      var at = Date.parse(h);
      if (!isNaN(at)) secs = Math.max(1, Math.round((at - Date.now()) / 1000));
    }
    if (secs == null && body && typeof body.retry_after === 'number') secs = body.retry_after;
    if (secs == null) return null;
    var value = secs;
    var unit = 'second';
    if (secs >= 3600) { value = Math.ceil(secs / 3600); unit = 'hour'; }
    else if (secs >= 90) { value = Math.ceil(secs / 60); unit = 'minute'; }
    try {
      return new Intl.RelativeTimeFormat(LANG, { numeric: 'always' }).format(value, unit);
    } catch (e) {
      return 'in ' + value + ' ' + unit + (value === 1 ? '' : 's');
    }
  }

  function readJson(res) {
    return res.text().then(function (t) {
      try { return t ? JSON.parse(t) : null; } catch (e) { return null; }
    });
  }

  // ---- which optional features the service has on -------------------------
  function fetchConfig() {
    return fetch(api('/api/config'), { credentials: 'omit' })
      .then(function (res) { return res.ok ? res.json() : {}; })
      .catch(function () { return {}; });
  }

  // ---- form token -----------------------------------------------------------
  function fetchToken(page) {
    return fetch(api('/api/form-token?page=' + encodeURIComponent(page)), {
      credentials: 'omit', cache: 'no-store'
    }).then(function (res) {
      return res.ok ? res.json().then(function (j) { return j && j.token ? String(j.token) : ''; }) : '';
    }).catch(function () { return ''; });
  }

  // ---- the thread -----------------------------------------------------------
  var uid = 0;

  function Thread(host) {
    this.host = host;
    this.page = host.getAttribute('data-page') || location.pathname;
    this.t = strings(host);
    this.id = 'moderato-' + (++uid);
    this.comments = [];
    this.byId = {};
    this.edits = {};
    this.total = 0;
    this.nextCursor = null;
    // data-sort="newest" shows the newest conversations first.
    this.sort = host.getAttribute('data-sort') === 'newest' ? 'newest' : 'oldest';
    this.submitting = false;
    this.tokenPromise = null;
    this.build();
    this.load();
    var self = this;
    fetchConfig().then(function (features) {
      // The boxes are offered only when the service can send mail.
      self.notifyReplies.parentNode.hidden = !features.reply_notifications;
      self.notifyApproved.parentNode.hidden = !features.approval_notifications;
      self.notifyNote.hidden = !(features.reply_notifications || features.approval_notifications);
    });
  }

  Thread.prototype.build = function () {
    var t = this.t;
    var host = this.host;
    // A no-JavaScript fallback form may sit inside the host: replace it.
    while (host.firstChild) host.removeChild(host.firstChild);
    host.classList.add('moderato');
    this.countEl = el('h2', { 'class': 'moderato-count', id: this.id + '-count', text: t.loading });
    this.statusEl = el('p', { 'class': 'moderato-load-error', role: 'alert', hidden: true });
    // role="list": some screen readers drop a list's semantics when its
    // markers are hidden by CSS; the thread must stay a (nested) list.
    this.list = el('ol', { 'class': 'moderato-comments', role: 'list' });
    var self = this;
    this.moreBtn = el('button', { type: 'button', 'class': 'moderato-load-more', hidden: true, text: t.loadMore });
    this.moreBtn.addEventListener('click', function () { self.loadMore(); });
    this.respondHome = el('div', { 'class': 'moderato-respond-home' });
    this.respond = this.buildForm();
    this.respondHome.appendChild(this.respond);
    // Kept hidden until embed.css has arrived: no flash of unstyled form,
    // and the honeypot is never on screen.
    var root = el('div', { 'class': 'moderato-root', hidden: true }, [
      el('section', { 'class': 'moderato-thread', 'aria-labelledby': this.countEl.id },
        [this.countEl, this.statusEl, this.list, this.moreBtn]),
      this.respondHome
    ]);
    host.appendChild(root);
    cssReady.then(function () { root.hidden = false; });
  };

  Thread.prototype.field = function (name, label, input, required, hint) {
    var id = this.id + '-' + name;
    input.setAttribute('id', id);
    input.setAttribute('name', name);
    if (required) input.setAttribute('required', '');
    var err = el('p', { 'class': 'moderato-field-error', id: id + '-error', hidden: true });
    var lab = el('label', { 'for': id }, [label, required ? ' ' : null,
      required ? el('span', { 'class': 'moderato-required', 'aria-hidden': 'true', text: '*' }) : null]);
    this.inputs[name] = input;
    this.errors[name] = err;
    return el('p', { 'class': 'moderato-field moderato-field-' + name }, [lab, input, hint || null, err]);
  };

  Thread.prototype.buildForm = function () {
    var t = this.t;
    var self = this;
    this.inputs = {};
    this.errors = {};
    this.headingEl = el('h3', { 'class': 'moderato-reply-title', id: this.id + '-reply-title' });
    this.headingText = el('span', { text: t.heading });
    this.cancelBtn = el('button', { type: 'button', 'class': 'moderato-cancel-reply', hidden: true, text: t.cancelReply });
    this.headingEl.appendChild(this.headingText);
    this.headingEl.appendChild(document.createTextNode(' '));
    this.headingEl.appendChild(this.cancelBtn);

    var note = el('p', { 'class': 'moderato-note' }, [
      el('span', { 'class': 'moderato-email-note', id: this.id + '-email-note', text: t.note }), ' ',
      el('span', { 'class': 'moderato-required-note' }, starred(t.requiredNote))
    ]);

    var remember = el('input', { type: 'checkbox', id: this.id + '-remember', name: 'remember', value: 'yes' });
    this.remember = remember;
    // The honeypot: off-screen by a class, hidden from assistive technology,
    // out of the tab order and never autofilled. Humans leave it empty.
    var hp = el('input', { type: 'text', id: this.id + '-homepage', name: 'homepage', tabindex: '-1', autocomplete: 'off', value: '' });
    this.honeypot = hp;
    this.parentInput = el('input', { type: 'hidden', name: 'parent', value: '' });
    this.notifyReplies = el('input', { type: 'checkbox', id: this.id + '-notify-replies', name: 'notify_replies', value: '1' });
    this.notifyApproved = el('input', { type: 'checkbox', id: this.id + '-notify-approved', name: 'notify_approved', value: '1' });
    this.notifyNote = el('p', { 'class': 'moderato-notify-note', hidden: true, text: t.notifyNote });

    this.submitBtn = el('button', { type: 'submit', 'class': 'moderato-submit', text: t.submit });
    this.formError = el('p', { 'class': 'moderato-form-error', role: 'alert', id: this.id + '-form-error', hidden: true });
    this.formStatus = el('p', { 'class': 'moderato-form-status', role: 'status', 'aria-live': 'polite' });

    var form = el('form', { 'class': 'moderato-form', novalidate: true, method: 'post', action: api('/api/comments') }, [
      note,
      this.field('comment', t.comment, el('textarea', { rows: '8', cols: '45' }), true),
      this.field('author', t.name, el('input', { type: 'text', autocomplete: 'name', size: '30' }), true),
      this.field('email', t.email, el('input', { type: 'email', autocomplete: 'email', size: '30', 'aria-describedby': this.id + '-email-note' }), true),
      this.field('url', t.website, el('input', { type: 'url', autocomplete: 'url', size: '30' }), false),
      el('p', { 'class': 'moderato-hp', 'aria-hidden': 'true' }, [el('label', { 'for': hp.id, text: t.honeypot }), hp]),
      el('p', { 'class': 'moderato-field moderato-remember' }, [remember, ' ', el('label', { 'for': remember.id, text: t.cookiesConsent })]),
      el('p', { 'class': 'moderato-field moderato-notify', hidden: true }, [this.notifyReplies, ' ', el('label', { 'for': this.notifyReplies.id, text: t.notifyReplies })]),
      el('p', { 'class': 'moderato-field moderato-notify', hidden: true }, [this.notifyApproved, ' ', el('label', { 'for': this.notifyApproved.id, text: t.notifyApproved })]),
      this.notifyNote,
      this.parentInput,
      this.formError,
      el('p', { 'class': 'moderato-form-submit' }, [this.submitBtn]),
      this.formStatus
    ]);
    this.form = form;

    // A remembered identity is only there because the reader ticked the box.
    var saved = null;
    try { saved = JSON.parse((store('localStorage') || { getItem: function () { return null; } }).getItem(IDENTITY_KEY)); } catch (e) { saved = null; }
    if (saved) {
      this.inputs.author.value = saved.author || '';
      this.inputs.email.value = saved.email || '';
      this.inputs.url.value = saved.url || '';
      remember.checked = true;
    }

    form.addEventListener('submit', function (ev) { ev.preventDefault(); self.submit(); });
    form.addEventListener('input', function (ev) {
      var name = ev.target && ev.target.getAttribute('name');
      if (name && self.errors[name]) self.setError(name, null);
    });
    this.cancelBtn.addEventListener('click', function () { self.cancelReply(); });

    var section = el('section', { 'class': 'moderato-respond', id: 'moderato-respond', 'aria-labelledby': this.headingEl.id }, [this.headingEl, form]);
    // Fetch the signed form token the first time the form is shown. A token
    // is good for a day: a tab left open longer gets a new one when the
    // reader comes back to it (and then takes more than a moment to write).
    this.refreshToken();
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState === 'visible' && Date.now() - self.tokenAt > TOKEN_REFRESH_MS) self.refreshToken();
    });
    return section;
  };

  Thread.prototype.refreshToken = function () {
    this.tokenAt = Date.now();
    this.tokenPromise = fetchToken(this.page);
  };

  Thread.prototype.threadUrl = function (cursor) {
    return api('/api/comments?page=' + encodeURIComponent(this.page) + '&limit=' + PAGE_SIZE +
      '&sort=' + this.sort + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
  };

  Thread.prototype.load = function () {
    var self = this;
    var host = this.host;
    // data-moderato-state: loading | ready | error, for page styles and tests.
    host.setAttribute('data-moderato-state', 'loading');
    // no-cache: always revalidate (the service answers If-None-Match with 304).
    return fetch(this.threadUrl(null), { credentials: 'omit', cache: 'no-cache' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (data) {
        self.comments = Array.isArray(data.comments) ? data.comments : [];
        self.total = typeof data.count === 'number' ? data.count : self.comments.length;
        self.nextCursor = data.next_cursor || null;
        self.statusEl.hidden = true;
        self.render();
        host.setAttribute('data-moderato-state', 'ready');
      })
      .catch(function () {
        self.comments = [];
        self.nextCursor = null;
        self.render();
        self.statusEl.textContent = self.t.loadError;
        self.statusEl.hidden = false;
        host.setAttribute('data-moderato-state', 'error');
      });
  };

  // The next PAGE_SIZE conversations, appended; focus goes to the first
  // of them, so a keyboard reader goes on reading where they were.
  Thread.prototype.loadMore = function () {
    var self = this;
    if (!this.nextCursor || this.loadingMore) return;
    this.loadingMore = true;
    this.moreBtn.disabled = true;
    fetch(this.threadUrl(this.nextCursor), { credentials: 'omit', cache: 'no-cache' })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (data) {
        var known = {};
        self.comments.forEach(function (c) { known[c.id] = true; });
        var fresh = (Array.isArray(data.comments) ? data.comments : []).filter(function (c) { return !known[c.id]; });
        self.comments = self.comments.concat(fresh);
        self.total = typeof data.count === 'number' ? data.count : self.total;
        self.nextCursor = data.next_cursor || null;
        self.render();
        var first = fresh.length && document.getElementById('comment-' + fresh[0].id);
        if (first) { first.setAttribute('tabindex', '-1'); first.focus(); }
      })
      .catch(function () {
        self.statusEl.textContent = self.t.loadError;
        self.statusEl.hidden = false;
      })
      .then(function () {
        self.loadingMore = false;
        self.moreBtn.disabled = false;
      });
  };

  Thread.prototype.render = function () {
    var self = this;
    var t = this.t;
    var byId = {};
    this.comments.forEach(function (c) { byId[c.id] = c; });
    this.byId = byId;
    // Pending comments of this reader: shown to them only, until approved.
    var pending = readPending().filter(function (p) { return p.page === self.page; });
    var approvedIds = pending.filter(function (p) { return byId[p.id]; }).map(function (p) { return p.id; });
    if (approvedIds.length) dropPending(approvedIds);
    pending = pending.filter(function (p) { return !byId[p.id]; });

    var mine = pending.map(function (p) {
      return { id: p.id, parent: p.parent, author: p.author, url: p.url, text: p.text, created_at: p.created_at, avatar: p.id, pending: true };
    });
    // The reader's own pending comments sit where new ones go.
    var all = this.sort === 'newest' ? mine.concat(this.comments) : this.comments.concat(mine);
    this.edits = eachEdits();
    var children = {};
    var known = {};
    all.forEach(function (c) { known[c.id] = true; });
    all.forEach(function (c) {
      var key = c.parent && known[c.parent] ? c.parent : '';
      (children[key] = children[key] || []).push(c);
    });

    // Keep the form where it is while the list is rebuilt.
    var replyingTo = this.replyingTo;
    if (replyingTo) this.respondHome.appendChild(this.respond);
    while (this.list.firstChild) this.list.removeChild(this.list.firstChild);

    function walk(list, parentId, depth) {
      (children[parentId] || []).forEach(function (c) {
        var li = el('li', { 'class': 'moderato-item moderato-depth-' + depth });
        li.appendChild(self.renderComment(c, depth));
        list.appendChild(li);
        if (!children[c.id]) return;
        if (depth < MAX_DEPTH) {
          var ol = el('ol', { 'class': 'moderato-children', role: 'list' });
          li.appendChild(ol);
          walk(ol, c.id, depth + 1);
        } else {
          walk(list, c.id, depth); // deeper replies stay at the last level
        }
      });
    }
    walk(this.list, '', 1);
    this.countEl.textContent = countText(t, Math.max(this.total, this.comments.length));
    this.moreBtn.hidden = !this.nextCursor;
    this.scheduleEditsEnd();
    if (replyingTo && byId[replyingTo]) this.startReply(replyingTo, true);
    else if (replyingTo) this.cancelReply(true);
  };

  Thread.prototype.renderComment = function (c, depth) {
    var t = this.t;
    var self = this;
    var art = el('article', {
      'class': 'moderato-comment' + (c.pending ? ' moderato-pending' : '') + (c.by_author ? ' moderato-by-author' : ''),
      id: c.pending ? 'comment-pending-' + c.id : 'comment-' + c.id,
      'data-depth': String(depth)
    });
    if (c.deleted) {
      art.classList.add('moderato-deleted');
      art.appendChild(el('p', { 'class': 'moderato-body moderato-deleted-note', text: t.deleted }));
      return art;
    }
    var name = String(c.author || '');
    var href = c.url ? safeHttpUrl(c.url) : null;
    var author = href
      ? el('a', { 'class': 'moderato-author', href: href, rel: 'nofollow ugc noopener', text: name })
      : el('span', { 'class': 'moderato-author', text: name });
    var meta = el('header', { 'class': 'moderato-meta' }, [identicon(c.avatar || c.id), author]);
    if (c.by_author) meta.appendChild(el('span', { 'class': 'moderato-badge', text: t.byAuthor }));
    var when = c.created_at ? new Date(c.created_at) : null;
    if (when && !isNaN(when.getTime())) {
      var label;
      try {
        label = new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' }).format(when);
      } catch (e) {
        label = when.toLocaleString();
      }
      var time = el('time', { datetime: when.toISOString(), text: label });
      meta.appendChild(c.pending ? time : el('a', { 'class': 'moderato-permalink', href: '#comment-' + c.id }, [time]));
    }
    art.appendChild(meta);
    var body = el('div', { 'class': 'moderato-body' });
    if (c.pending) body.appendChild(el('p', { 'class': 'moderato-text', text: c.text || '' }));
    else body.appendChild(sanitizedFragment(c.html));
    art.appendChild(body);
    var actions = el('footer', { 'class': 'moderato-actions' });
    if (c.pending) {
      art.appendChild(el('p', { 'class': 'moderato-awaiting', text: t.awaiting }));
    } else {
      var btn = el('button', {
        type: 'button', 'class': 'moderato-reply', 'aria-label': fmt(t.replyTo, { name: name }), text: t.reply
      });
      btn.addEventListener('click', function () { self.startReply(c.id); });
      actions.appendChild(btn);
    }
    // The writer may edit or delete for a while, with the token of the post.
    if (this.edits[c.id]) {
      var edit = el('button', { type: 'button', 'class': 'moderato-edit-button', text: t.edit });
      var remove = el('button', { type: 'button', 'class': 'moderato-delete-button', text: t.remove });
      edit.addEventListener('click', function () { self.startEdit(c, art, actions, edit); });
      remove.addEventListener('click', function () { self.removeComment(c); });
      actions.appendChild(edit);
      actions.appendChild(remove);
    }
    if (actions.firstChild) art.appendChild(actions);
    return art;
  };

  // Hides Edit and Delete when the first edit window closes.
  Thread.prototype.scheduleEditsEnd = function () {
    var self = this;
    var ends = Object.keys(this.edits).map(function (id) { return self.edits[id].until; });
    clearTimeout(this.editsTimer);
    if (!ends.length) return;
    var wait = Math.max(0, Math.min.apply(null, ends) - Date.now()) + 50;
    this.editsTimer = setTimeout(function () { self.render(); }, Math.min(wait, 0x7fffffff));
  };

  Thread.prototype.editRequest = function (c, method, body) {
    var grant = this.edits[c.id] || {};
    var headers = { 'Accept': 'application/json', 'Authorization': 'Bearer ' + grant.token };
    if (body) headers['Content-Type'] = 'application/json';
    return fetch(api('/api/comments/' + encodeURIComponent(c.id)), {
      method: method, credentials: 'omit', headers: headers, body: body ? JSON.stringify(body) : undefined
    });
  };

  Thread.prototype.startEdit = function (c, art, actions, editBtn) {
    var self = this;
    var t = this.t;
    var grant = this.edits[c.id];
    var body = art.querySelector('.moderato-body');
    if (!grant || !body || art.querySelector('.moderato-edit')) return;
    var id = this.id + '-edit-' + c.id;
    var area = el('textarea', { id: id, name: 'comment', rows: '6', cols: '45' });
    area.value = grant.text != null ? grant.text : (c.text || body.textContent || '').trim();
    var err = el('p', { 'class': 'moderato-field-error', id: id + '-error', role: 'alert', hidden: true });
    var save = el('button', { type: 'submit', text: t.save });
    var cancel = el('button', { type: 'button', text: t.cancelEdit });
    var form = el('form', { 'class': 'moderato-edit', novalidate: true }, [
      el('label', { 'for': id, text: t.editLabel }), area, err, el('p', { 'class': 'moderato-edit-buttons' }, [save, ' ', cancel])
    ]);
    function fail(message) {
      err.textContent = message;
      err.hidden = false;
      area.setAttribute('aria-invalid', 'true');
      area.setAttribute('aria-describedby', err.id);
      save.disabled = false;
      area.focus();
    }
    function close() {
      form.parentNode.removeChild(form);
      body.hidden = false;
      actions.hidden = false;
      editBtn.focus();
    }
    body.hidden = true;
    actions.hidden = true;
    art.insertBefore(form, body.nextSibling);
    area.focus();
    cancel.addEventListener('click', close);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = area.value.trim();
      if (!text) { fail(t.required); return; }
      save.disabled = true;
      self.editRequest(c, 'PUT', { comment: text }).then(function (res) {
        return readJson(res).then(function (data) {
          data = data || {};
          if (res.status !== 200) {
            fail(res.status === 422 && data.fields && data.fields.comment ? String(data.fields.comment) : t.editFailed);
            return null;
          }
          changeEdit(c.id, function (g) { g.text = text; });
          if (c.pending) {
            updatePending(c.id, function (p) { p.text = text; });
            self.render();
            return null;
          }
          if (data.status === 'pending') {
            // Back in the queue: shown to its writer as it waits.
            addPending({
              id: c.id, page: self.page, parent: c.parent, author: c.author, url: c.url, text: text,
              created_at: c.created_at, expires: Date.now() + WEEK_MS
            }, grant.kind === 'localStorage');
            self.formStatus.textContent = t.editAwaiting;
          }
          return self.load();
        });
      }, function () { fail(t.networkError); });
    });
  };

  Thread.prototype.removeComment = function (c) {
    var self = this;
    if (!window.confirm(this.t.removeConfirm)) return;
    this.editRequest(c, 'DELETE', null).then(function (res) {
      if (res.status === 204 || res.status === 404) {
        dropEdit(c.id);
        dropPending([c.id]);
        return self.load().then(function () { self.countEl.setAttribute('tabindex', '-1'); self.countEl.focus(); });
      }
      self.showFormError(self.t.editFailed);
      return null;
    }, function () { self.showFormError(self.t.networkError); });
  };

  Thread.prototype.startReply = function (id, quiet) {
    var c = this.byId[id];
    var art = document.getElementById('comment-' + id);
    if (!c || !art || !this.host.contains(art)) return;
    this.replyingTo = id;
    this.parentInput.value = id;
    this.headingText.textContent = fmt(this.t.headingReply, { name: String(c.author || '') });
    this.cancelBtn.hidden = false;
    art.parentNode.insertBefore(this.respond, art.nextSibling);
    if (!quiet) this.inputs.comment.focus();
  };

  Thread.prototype.cancelReply = function (quiet) {
    this.replyingTo = null;
    this.parentInput.value = '';
    this.headingText.textContent = this.t.heading;
    this.cancelBtn.hidden = true;
    this.respondHome.appendChild(this.respond);
    if (!quiet) this.inputs.comment.focus();
  };

  Thread.prototype.setError = function (name, message) {
    var input = this.inputs[name];
    var err = this.errors[name];
    if (!input || !err) return false;
    var described = (input.getAttribute('aria-describedby') || '').split(/\s+/)
      .filter(function (x) { return x && x !== err.id; });
    if (message) {
      err.textContent = message;
      err.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      described.push(err.id);
    } else {
      err.textContent = '';
      err.hidden = true;
      input.removeAttribute('aria-invalid');
    }
    if (described.length) input.setAttribute('aria-describedby', described.join(' '));
    else input.removeAttribute('aria-describedby');
    return true;
  };

  Thread.prototype.clearErrors = function () {
    var self = this;
    Object.keys(this.inputs).forEach(function (n) { self.setError(n, null); });
    this.formError.textContent = '';
    this.formError.hidden = true;
  };

  Thread.prototype.showFormError = function (message) {
    this.formError.textContent = message;
    this.formError.hidden = false;
  };

  // Mirrors the server's checks (src/domain.rs) so that most mistakes are
  // caught before a round trip; the server stays the authority and its 422
  // messages are shown as they come.
  Thread.prototype.check = function (v) {
    var t = this.t;
    var errors = {};
    if (!v.comment) errors.comment = t.required;
    else if (chars(v.comment) > 10000) errors.comment = fmt(t.tooLong, { max: 10000 });
    if (!v.author) errors.author = t.required;
    else if (chars(v.author) > 100) errors.author = fmt(t.tooLong, { max: 100 });
    if (!v.email) errors.email = t.required;
    else if (bytes(v.email) > 254) errors.email = fmt(t.tooLong, { max: 254 });
    else if (!validEmail(v.email)) errors.email = t.invalidEmail;
    if (v.url) {
      if (v.url.length > 2048) errors.url = fmt(t.tooLong, { max: 2048 });
      else if (!websiteUrl(v.url)) errors.url = t.invalidUrl;
    }
    return errors;
  };

  Thread.prototype.showErrors = function (fields) {
    var self = this;
    var first = null;
    var unplaced = [];
    ['comment', 'author', 'email', 'url'].concat(Object.keys(fields)).forEach(function (name, i, arr) {
      if (arr.indexOf(name) !== i || !fields[name]) return;
      if (self.setError(name, String(fields[name]))) { if (!first) first = self.inputs[name]; }
      else unplaced.push(String(fields[name]));
    });
    this.showFormError(unplaced.length ? unplaced.join(' ') : this.t.fixFields);
    if (first) first.focus();
  };

  Thread.prototype.values = function () {
    return {
      comment: this.inputs.comment.value.trim(),
      author: this.inputs.author.value.trim(),
      email: this.inputs.email.value.trim(),
      url: this.inputs.url.value.trim()
    };
  };

  Thread.prototype.setBusy = function (busy) {
    this.submitting = busy;
    this.submitBtn.disabled = busy;
    this.submitBtn.textContent = busy ? this.t.submitting : this.t.submit;
    if (busy) this.form.setAttribute('aria-busy', 'true');
    else this.form.removeAttribute('aria-busy');
  };

  Thread.prototype.submit = function () {
    // Set synchronously, before any await: a double click sends one request.
    if (this.submitting) return;
    var self = this;
    var t = this.t;
    this.clearErrors();
    this.formStatus.textContent = '';
    var v = this.values();
    var errors = this.check(v);
    if (Object.keys(errors).length) { this.showErrors(errors); return; }
    this.setBusy(true);
    var remember = this.remember.checked;
    var parent = this.parentInput.value || null;

    (this.tokenPromise || Promise.resolve('')).then(function (token) {
      // Optional fields are left out when empty rather than sent as "".
      var body = { page: self.page, author: v.author, email: v.email, comment: v.comment, homepage: self.honeypot.value };
      if (v.url) body.url = v.url;
      if (parent) body.parent = parent;
      if (token) body.form_token = token;
      if (!self.notifyReplies.parentNode.hidden && self.notifyReplies.checked) body.notify_replies = true;
      if (!self.notifyApproved.parentNode.hidden && self.notifyApproved.checked) body.notify_approved = true;
      return fetch(api('/api/comments'), {
        method: 'POST',
        credentials: 'omit',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify(body)
      });
    }).then(function (res) {
      return readJson(res).then(function (data) { return self.answer(res, data || {}, v, parent, remember); });
    }, function () {
      self.showFormError(t.networkError);
    }).then(function () {
      self.setBusy(false);
    });
  };

  Thread.prototype.answer = function (res, data, v, parent, remember) {
    var t = this.t;
    var when;
    if (res.status === 201 || res.status === 200) {
      var ls = store('localStorage');
      try {
        if (remember && ls) ls.setItem(IDENTITY_KEY, JSON.stringify({ author: v.author, email: v.email, url: v.url }));
        else if (ls) ls.removeItem(IDENTITY_KEY);
      } catch (e) { /* storage denied */ }
      this.inputs.comment.value = '';
      if (this.replyingTo) this.cancelReply(true);
      // A new token for the next comment (a token may be single-use).
      this.refreshToken();
      var id = data.id != null ? String(data.id) : '';
      var until = Date.parse(data.editable_until || '');
      if (id && data.edit_token && until > Date.now()) {
        addEdit(id, { token: String(data.edit_token), until: until, text: v.comment }, remember);
      }
      if (data.status === 'approved') {
        this.formStatus.textContent = t.published;
        return this.load().then(function () {
          var node = id && document.getElementById('comment-' + id);
          if (node && node.scrollIntoView) node.scrollIntoView({ block: 'nearest' });
        });
      }
      // Kept for a week, or until approved. Without the reader's consent to
      // store things, only for this tab (sessionStorage).
      addPending({
        id: id || String(Date.now()), page: this.page, parent: parent, author: v.author,
        url: v.url, text: v.comment, created_at: new Date().toISOString(), expires: Date.now() + WEEK_MS
      }, remember);
      this.render();
      this.formStatus.textContent = t.awaiting;
      return null;
    }
    if (res.status === 422 && data.fields && Object.keys(data.fields).length) {
      this.showErrors(data.fields);
    } else if (res.status === 429) {
      when = retryWhen(res, data);
      this.showFormError(when ? fmt(t.rateLimited, { when: when }) : t.rateLimitedLater);
    } else if (res.status === 503) {
      when = retryWhen(res, data);
      this.showFormError(when ? fmt(t.unavailable, { when: when }) : t.unavailableLater);
    } else if (res.status === 409) {
      this.showFormError(t.duplicate);
    } else if (res.status === 413) {
      this.showFormError(t.payloadTooLarge);
    } else {
      this.showFormError(t.genericError);
    }
    return null;
  };

  // ---- light or dark ---------------------------------------------------------
  // Follow the page, not only the reader's setting: a page that stays light
  // when the reader prefers dark would otherwise get light text on white.
  // The first opaque background up the tree decides; with none, the canvas
  // is dark only if the page opted into dark (color-scheme) and the reader
  // prefers it. data-theme="light|dark" on the host skips all this.
  function luminance(color) {
    var m = /rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)(?:[,/ ]+([\d.]+%?))?/.exec(color || '');
    if (!m) return null;
    var alpha = m[4] == null ? 1 : (m[4].slice(-1) === '%' ? parseFloat(m[4]) / 100 : parseFloat(m[4]));
    if (alpha < 0.5) return null;
    return (0.2126 * m[1] + 0.7152 * m[2] + 0.0722 * m[3]) / 255;
  }

  function followPageScheme(host) {
    if (host.hasAttribute('data-theme') || !window.getComputedStyle) return;
    var dark = null;
    for (var node = host; node && node.nodeType === 1 && dark === null; node = node.parentElement) {
      var l = luminance(getComputedStyle(node).backgroundColor);
      if (l !== null) dark = l < 0.5;
    }
    if (dark === null) {
      var scheme = getComputedStyle(document.documentElement).colorScheme || '';
      dark = /dark/.test(scheme) && !!(window.matchMedia && matchMedia('(prefers-color-scheme: dark)').matches);
    }
    host.setAttribute('data-moderato-scheme', dark ? 'dark' : 'light');
  }

  function watchScheme(host) {
    followPageScheme(host);
    // The page's stylesheet may arrive after this script, and the reader may
    // switch schemes while reading.
    window.addEventListener('load', function () { followPageScheme(host); });
    if (window.matchMedia) {
      var mq = matchMedia('(prefers-color-scheme: dark)');
      if (mq.addEventListener) mq.addEventListener('change', function () { followPageScheme(host); });
    }
  }

  // ---- comment counts for list pages -----------------------------------------
  function counts() {
    var nodes = Array.prototype.slice.call(document.querySelectorAll('[data-moderato-count]'));
    if (!nodes.length) return;
    var pages = [];
    nodes.forEach(function (n) {
      var p = n.getAttribute('data-moderato-count');
      if (p && pages.indexOf(p) < 0) pages.push(p);
    });
    if (!pages.length) return;
    var t = strings(document.getElementById('moderato-thread'));
    var qs = pages.map(function (p) { return 'page=' + encodeURIComponent(p); }).join('&');
    fetch(api('/api/counts?' + qs), { credentials: 'omit', cache: 'no-cache' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (map) {
        if (!map) return;
        nodes.forEach(function (n) {
          var c = map[n.getAttribute('data-moderato-count')];
          if (typeof c !== 'number') return;
          n.textContent = n.getAttribute('data-moderato-count-format') === 'text' ? countText(t, c) : String(c);
          n.setAttribute('data-moderato-count-value', String(c));
        });
      })
      .catch(function () { /* leave the page's own fallback text */ });
  }

  var cssReady;

  function loadCss() {
    var link = document.querySelector('link[data-moderato-css]');
    if (link && link.sheet) return Promise.resolve();
    return new Promise(function (resolve) {
      if (!link) {
        link = el('link', { rel: 'stylesheet', href: api('/embed.css'), 'data-moderato-css': '' });
        document.head.appendChild(link);
      }
      // Shown unstyled rather than never: on error, or after five seconds.
      link.addEventListener('load', resolve);
      link.addEventListener('error', resolve);
      setTimeout(resolve, 5000);
    });
  }

  function start() {
    cssReady = loadCss();
    var host = document.getElementById('moderato-thread');
    if (host && !host.moderato) {
      host.moderato = new Thread(host);
      watchScheme(host);
    }
    counts();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
