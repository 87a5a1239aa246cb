/* Operator sign-in (D12, issue 12). The deployment chooses one mode and /api/auth/status says which:
 * - password (no `mode` in the status): POST /api/login {password}, the shared dashboard password;
 * - firebase: the operator's own account, POST /api/login {email, password}; the server signs in at Firebase
 *   Authentication and answers a Firebase session cookie (this page talks to its own origin only: CSP).
 * Either way the server sets the HttpOnly `__session` cookie. Its refusal text is shown verbatim, as text. */
(function () {
  'use strict';

  const form = document.getElementById('login-form');
  const email = document.getElementById('email');
  const input = document.getElementById('password');
  const submit = document.getElementById('login-submit');
  const error = document.getElementById('login-error');
  const modeLine = document.getElementById('login-mode');
  let mode = 'password';

  function showMode(data) {
    mode = data && data.mode === 'firebase' ? 'firebase' : 'password';
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

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    const body = mode === 'firebase' ? { email: email.value.trim(), password: input.value } : { password: input.value };
    try {
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
