/* Operator sign-in (D12, issue 12). The deployment chooses one mode and /api/auth/status says which:
 * - password (no `mode` in the status): POST /api/login {password}, the shared dashboard password;
 * - firebase: the operator's own account. This page signs in at Firebase Authentication itself (the Identity
 *   Toolkit REST sign-in the status publishes: Google's, or the local emulator; the CSP's connect-src allows
 *   exactly that origin) and sends only the ID token, POST /api/login {id_token}: the operator's password goes
 *   to Firebase and nowhere else. The server answers a Firebase session cookie.
 * Either way the server sets the HttpOnly `__session` cookie. Refusal texts are shown as text. */
(function () {
  'use strict';

  const form = document.getElementById('login-form');
  const email = document.getElementById('email');
  const input = document.getElementById('password');
  const submit = document.getElementById('login-submit');
  const error = document.getElementById('login-error');
  const modeLine = document.getElementById('login-mode');
  let mode = 'password';
  let firebase = null;  // {sign_in_url, api_key, ...} from the status, in the firebase mode
  let known = false;  // the status said which mode: until then nothing is sent (a password could go astray)

  const WRONG_CREDENTIALS = 'Invalid email or password';
  // Firebase's refusals that mean "these credentials do not sign in": one text, never which part was wrong
  const REFUSED = new Set(['EMAIL_NOT_FOUND', 'INVALID_PASSWORD', 'INVALID_LOGIN_CREDENTIALS', 'INVALID_EMAIL',
    'MISSING_EMAIL', 'MISSING_PASSWORD', 'USER_DISABLED']);

  class Refusal extends Error {}

  function showMode(data) {
    mode = data && data.mode === 'firebase' ? 'firebase' : 'password';
    known = true;
    firebase = mode === 'firebase' && data.firebase ? data.firebase : null;
    document.body.dataset.authMode = mode;
    const accounts = mode === 'firebase';
    document.getElementById('email-row').hidden = !accounts;
    document.getElementById('password-label').textContent = accounts ? 'Password' : 'Dashboard password';
    modeLine.textContent = accounts
      ? 'Sign in with your operator account (Firebase Authentication'
        + (data.firebase && data.firebase.emulator ? ', local emulator' : '') + ').'
      : 'This desk uses one shared dashboard password.';
    if (accounts) email.focus();
    if (data && data.error) error.textContent = String(data.error);
  }

  async function status() {
    try {
      const res = await fetch('/api/auth/status', { cache: 'no-store', credentials: 'same-origin' });
      const data = await res.json();
      if (!res.ok) {
        modeLine.textContent = '';
        error.textContent = data && data.error ? String(data.error) : 'Sign-in unavailable (HTTP ' + res.status + ')';
        return;
      }
      showMode(data);
      if (data.authenticated && data.password_required) {
        window.location.replace('/');
      } else if (!data.password_required) {
        document.getElementById('login-open').hidden = false;
      }
    } catch (e) {
      /* the form still works; a failed sign-in shows why */
    }
  }

  /* Email and password → a Firebase ID token, at the Identity Toolkit's signInWithPassword. */
  async function firebaseIdToken() {
    if (!firebase || !firebase.sign_in_url) throw new Refusal('Sign-in unavailable: reload the page');
    if (!firebase.api_key) throw new Refusal('Operator sign-in is not configured on this deployment');
    const address = email.value.trim();
    if (!address || !input.value) throw new Refusal('Enter your email and password');
    let res;
    try {
      res = await fetch(firebase.sign_in_url + '?key=' + encodeURIComponent(firebase.api_key), {
        method: 'POST',
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: address, password: input.value, returnSecureToken: true }),
      });
    } catch (e) {
      throw new Refusal('Firebase Authentication could not be reached: check the connection and try again');
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (res.ok && data && typeof data.idToken === 'string' && data.idToken) return data.idToken;
    if (data && data.mfaPendingCredential) {
      /* an account enrolled in a second factor must finish it; this page does not do that step yet */
      throw new Refusal('This account has a second factor: the dashboard\'s sign-in does not support it yet');
    }
    const message = data && data.error && typeof data.error.message === 'string' ? data.error.message : '';
    const code = message.split(/[\s:]/)[0];
    if (REFUSED.has(code)) throw new Refusal(WRONG_CREDENTIALS);
    if (code === 'TOO_MANY_ATTEMPTS_TRY_LATER') {
      throw new Refusal('Too many sign-in attempts for this account: try again later');
    }
    throw new Refusal('Firebase Authentication refused the sign-in (' + (code || 'HTTP ' + res.status) + ')');
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      if (!known) await status();
      if (!known) {
        error.textContent = error.textContent || 'Sign-in unavailable: the server did not answer; try again';
        return;
      }
      let body;
      try {
        body = mode === 'firebase' ? { id_token: await firebaseIdToken() } : { password: input.value };
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        error.textContent = e.message;
        input.select();
        return;
      }
      const res = await fetch('/api/login', {
        method: 'POST',
        cache: 'no-store',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
      let data = null;
      try { data = await res.json(); } catch (e) { data = null; }
      if (res.ok && data && data.ok) {
        window.location.replace('/');
        return;
      }
      error.textContent = data && data.error ? String(data.error) : 'Sign-in failed (HTTP ' + res.status + ')';
      input.select();
    } catch (e) {
      error.textContent = 'Network error: the server did not answer';
    } finally {
      submit.disabled = false;
    }
  });

  status();
}());
