/* Operator sign-in: POST /api/login {password}; the server sets the HttpOnly `__session` cookie (D12).
 * The server's refusal text ("Invalid password", or the "not configured" message) is shown verbatim, as text. */
(function () {
  'use strict';

  const form = document.getElementById('login-form');
  const input = document.getElementById('password');
  const submit = document.getElementById('login-submit');
  const error = document.getElementById('login-error');

  async function status() {
    try {
      const res = await fetch('/api/auth/status', { cache: 'no-store', credentials: 'same-origin' });
      const data = await res.json();
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
    try {
      const res = await fetch('/api/login', {
        method: 'POST',
        cache: 'no-store',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ password: input.value }),
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
