/**
 * The people's pages, served by the API on its own origin: sign-in (password, then a code when the
 * person has two-factor on) and the account page a signed-in person lands on. Plain HTML and one
 * script each, no inline script or style, so the pages run under a strict Content-Security-Policy.
 * The web dashboard (issue 20) grows from the account page.
 */

/** Pages may run their own scripts and call the API on the same origin; nothing else. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function page(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · callroute</title>
<link rel="stylesheet" href="/web/app.css">
<script defer src="${script}"></script>
</head>
<body>
<main>
<h1>callroute</h1>
${body}
</main>
</body>
</html>
`;
}

export const SIGN_IN_HTML = page(
  'Sign in',
  `<form id="sign-in" novalidate>
<h2>Sign in</h2>
<label>E-mail <input id="email" name="email" type="email" autocomplete="username" required></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
<label id="code-row" hidden>Code from your authenticator app, or a recovery code
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"></label>
<p id="message" role="alert"></p>
<button id="submit" type="submit">Sign in</button>
</form>
<form id="choose-password" hidden novalidate>
<h2>Choose your password</h2>
<label>New password (at least 12 characters) <input id="new-password" name="newPassword" type="password" autocomplete="new-password" required></label>
<p id="choose-message" role="alert"></p>
<button type="submit">Set password</button>
</form>`,
  '/web/sign-in.js',
);

export const SIGN_IN_JS = `'use strict';
(function () {
  var form = document.getElementById('sign-in');
  var codeRow = document.getElementById('code-row');
  var message = document.getElementById('message');
  function say(text) { message.textContent = text; }
  // An invitation or reset link: /sign-in#reset=<token> (in the fragment, so the token is never sent
  // in a request line or logged); the person chooses a password, then signs in with it.
  var chooser = document.getElementById('choose-password');
  var reset = /^#reset=(.+)$/.exec(location.hash);
  if (reset) {
    form.hidden = true;
    chooser.hidden = false;
    chooser.addEventListener('submit', function (event) {
      event.preventDefault();
      var told = document.getElementById('choose-message');
      fetch('/v1/auth/password-reset', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: decodeURIComponent(reset[1]), newPassword: chooser.newPassword.value }) })
        .then(function (res) {
          if (res.status === 204) {
            history.replaceState(null, '', location.pathname + location.search);
            chooser.hidden = true;
            form.hidden = false;
            say('Your password is set: sign in with it.');
            return;
          }
          return res.json().then(function (answer) { told.textContent = (answer.error && answer.error.message) || 'The password was not set.'; });
        })
        .catch(function () { told.textContent = 'callroute cannot be reached; try again.'; });
    });
  }
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var body = { email: form.email.value, password: form.password.value };
    if (!codeRow.hidden && form.code.value) body.code = form.code.value;
    say('');
    fetch('/v1/auth/login', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (res) {
        // Back where the person was sent from (the dashboard), only ever a path on this site.
        if (res.ok) { var next = new URLSearchParams(location.search).get('next'); location.assign(next && next.charAt(0) === '/' && next.charAt(1) !== '/' && next.charAt(1) !== '\\\\' ? next : '/account'); return; }
        return res.json().then(function (answer) {
          var error = answer.error || {};
          if (error.code === 'CR_ERR_SECOND_FACTOR_REQUIRED') {
            codeRow.hidden = false;
            form.code.focus();
            say('Enter the 6-digit code from your authenticator app, or a recovery code.');
          } else if (error.code === 'CR_ERR_RATE_LIMITED') {
            say('Too many attempts. Try again in ' + (res.headers.get('retry-after') || 'a few') + ' seconds.');
          } else {
            say(error.message || 'Sign-in failed.');
          }
        });
      })
      .catch(function () { say('callroute cannot be reached; try again.'); });
  });
})();
`;

export const ACCOUNT_HTML = page(
  'Your account',
  `<section id="account" hidden>
<h2>Signed in as <span id="who"></span></h2>
<p id="two-factor"></p>
<p><a href="/app/">Open the dashboard</a> (calls, recordings, live).</p>
<table id="places"><thead><tr><th>Account</th><th>What you may do</th></tr></thead><tbody></tbody></table>
<button id="sign-out" type="button">Sign out</button>
</section>
<p id="loading">Loading…</p>`,
  '/web/account.js',
);

export const ACCOUNT_JS = `'use strict';
(function () {
  function text(id, value) { document.getElementById(id).textContent = value; }
  fetch('/v1/auth/me', { credentials: 'same-origin' })
    .then(function (res) {
      if (res.status === 401) { location.assign('/sign-in'); return; }
      return res.json().then(function (me) {
        var user = me.user || {};
        text('who', (user.name ? user.name + ' <' + user.email + '>' : user.email) + (me.operator ? ' (operator of the installation)' : ''));
        text('two-factor', me.twoFactorEnrolmentRequired
          ? 'Your account requires two-factor sign-in: set it up before anything else.'
          : user.twoFactorEnabled ? 'Two-factor sign-in is on.' : 'Two-factor sign-in is off.');
        var body = document.querySelector('#places tbody');
        (me.accounts || []).forEach(function (a) {
          var row = document.createElement('tr');
          var id = document.createElement('td');
          id.textContent = a.name || 'Account ' + a.accountId;
          var rights = document.createElement('td');
          rights.textContent = a.permissions.join(', ');
          row.appendChild(id);
          row.appendChild(rights);
          body.appendChild(row);
        });
        document.getElementById('loading').hidden = true;
        document.getElementById('account').hidden = false;
      });
    });
  document.getElementById('sign-out').addEventListener('click', function () {
    fetch('/v1/auth/logout', { method: 'POST', credentials: 'same-origin' }).then(function () { location.assign('/sign-in'); });
  });
})();
`;

export const APP_CSS = `body { font: 16px/1.45 system-ui, sans-serif; margin: 0; background: #f5f6f8; color: #1d232b; }
main { max-width: 40rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { margin: 0 0 1rem; font-size: 1.2rem; color: #0b5cab; }
label { display: block; margin: .8rem 0; }
input { display: block; width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; font: inherit; }
button { padding: .55rem 1.2rem; font: inherit; background: #0b5cab; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
#message { color: #a4161a; min-height: 1.4em; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: .4rem; border-bottom: 1px solid #dde1e6; vertical-align: top; }
`;
