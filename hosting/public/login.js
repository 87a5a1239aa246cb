/* Operator sign-in (D12, issue 12). The deployment chooses one mode and /api/auth/status says which:
 * - password (no `mode` in the status): POST /api/login {password}, the shared dashboard password;
 * - firebase: the operator's own account. This page signs in at Firebase Authentication itself (the Identity
 *   Toolkit REST sign-in the status publishes: Google's, or the local emulator; the CSP's connect-src allows
 *   exactly that origin) and sends only the ID token, POST /api/login {id_token}: the operator's password goes
 *   to Firebase and nowhere else. The server answers a Firebase session cookie.
 * Either way the server sets the HttpOnly `__session` cookie. Refusal texts are shown as text.
 *
 * The second factor (issue 22 item 9): an authenticator app (TOTP), Identity Platform's own, through its REST API.
 * - Sign-in: signInWithPassword answers `mfaPendingCredential` + `mfaInfo` instead of a token for an enrolled
 *   account; the page asks for the 6-digit code and calls v2/accounts/mfaSignIn:finalize, whose ID token goes to
 *   POST /api/login as any other. The pending credential lives in this page's memory only.
 * - Enrolment needs a fresh ID token of the operator, which exists in the browser only right after the password
 *   sign-in: so it happens here, before the token is posted, when the operator ticks "Add an authenticator app"
 *   (shown when the status says `mfa` is ENABLED or MANDATORY; /login.html?enrol=1 ticks it) or when the server
 *   answers 403 SECOND_FACTOR_REQUIRED (MANDATORY). v2/accounts/mfaEnrollment:start gives the shared key, shown
 *   as text and as an otpauth:// link (no QR code: no library for one is bundled); :finalize with the app's
 *   code gives the ID token that is then posted. The key is only ever in the page (never stored or sent
 *   anywhere but back to Firebase as the app's code) and is removed from it when the step ends. */
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

  // Identity Platform's refusals of a second-factor step
  const WRONG_CODE = new Set(['INVALID_CODE', 'INVALID_VERIFICATION_CODE', 'MISSING_CODE']);
  const START_OVER = new Set(['INVALID_MFA_PENDING_CREDENTIAL', 'MISSING_MFA_PENDING_CREDENTIAL', 'SESSION_EXPIRED',
    'INVALID_SESSION_INFO', 'MISSING_SESSION_INFO', 'CODE_EXPIRED', 'TOKEN_EXPIRED', 'INVALID_ID_TOKEN',
    'CREDENTIAL_TOO_OLD_LOGIN_AGAIN', 'USER_NOT_FOUND', 'MFA_ENROLLMENT_NOT_FOUND']);
  const UNREACHABLE = 'Firebase Authentication could not be reached: check the connection and try again';
  const WRONG_CODE_TEXT = 'Wrong code: enter the code your authenticator app shows now and try again';

  const steps = { password: form, mfa: document.getElementById('mfa-form'), enrol: document.getElementById('enrol-form') };
  const mfaCode = document.getElementById('mfa-code');
  const enrolCode = document.getElementById('enrol-code');
  const enrolBox = document.getElementById('enrol-totp');
  const secretBox = document.getElementById('totp-secret');
  const secretLink = document.getElementById('totp-uri');
  const wantsEnrolment = new URLSearchParams(window.location.search).get('enrol') === '1';
  let pending = null;  // {credential, enrolmentId}: the second step of a sign-in, in memory only
  let enrolment = null;  // {idToken, session, required}: adding an authenticator app

  class Refusal extends Error {}

  function showStep(name) {
    Object.entries(steps).forEach(([key, element]) => { element.hidden = key !== name; });
    if (name !== 'enrol') {  // the shared key leaves the page with its step
      secretBox.textContent = '';
      secretLink.removeAttribute('href');
      secretLink.hidden = true;
      enrolment = null;
    }
    if (name !== 'mfa') pending = null;
    const focus = { password: mode === 'firebase' ? email : input, mfa: mfaCode, enrol: enrolCode }[name];
    if (name !== 'password') focus.value = '';
    focus.focus();
  }

  function refusalCode(data) {
    const message = data && data.error && typeof data.error.message === 'string' ? data.error.message : '';
    return message.split(/[\s:]/)[0];
  }

  function toolkitBase() {
    if (firebase.identity_toolkit_url) return String(firebase.identity_toolkit_url);
    return String(firebase.sign_in_url).replace(/\/v1\/accounts:signInWithPassword$/, '');
  }

  /* One Identity Toolkit call → {ok, data, code}; a network failure is a Refusal saying so. */
  async function toolkit(path, body) {
    let res;
    try {
      res = await fetch(toolkitBase() + path + '?key=' + encodeURIComponent(firebase.api_key), {
        method: 'POST',
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (e) {
      throw new Refusal(UNREACHABLE);
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { ok: res.ok, data, code: refusalCode(data), status: res.status };
  }

  function sixDigits(field) {
    const code = field.value.replace(/\s+/g, '');
    if (!/^[0-9]{6}$/.test(code)) throw new Refusal('Enter the 6 digits your authenticator app shows');
    return code;
  }

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
    const offered = accounts && firebase && (firebase.mfa === 'ENABLED' || firebase.mfa === 'MANDATORY');
    document.getElementById('enrol-row').hidden = !offered;
    if (offered && wantsEnrolment) enrolBox.checked = true;
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
      if (data.authenticated && data.password_required && !(wantsEnrolment && mode === 'firebase')) {
        window.location.replace('/');
      } else if (!data.password_required) {
        document.getElementById('login-open').hidden = false;
      }
    } catch (e) {
      /* the form still works; a failed sign-in shows why */
    }
  }

  /* Email and password → {idToken} or, for an account with an authenticator app, {pending}, at the Identity
   * Toolkit's signInWithPassword. */
  async function firebaseSignIn() {
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
    if (res.ok && data && typeof data.idToken === 'string' && data.idToken) return { idToken: data.idToken };
    if (res.ok && data && typeof data.mfaPendingCredential === 'string' && data.mfaPendingCredential) {
      const factor = (Array.isArray(data.mfaInfo) ? data.mfaInfo : []).find((info) => info && info.totpInfo);
      if (!factor || typeof factor.mfaEnrollmentId !== 'string') {
        throw new Refusal('This account\'s second factor is not an authenticator app, which this page cannot '
          + 'complete: ask an administrator to remove it (python -m scripts.operators remove-mfa EMAIL)');
      }
      return { pending: { credential: data.mfaPendingCredential, enrolmentId: factor.mfaEnrollmentId } };
    }
    const code = refusalCode(data);
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
      if (mode !== 'firebase') {
        await postLogin({ password: input.value });
        return;
      }
      let result;
      try {
        result = await firebaseSignIn();
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        error.textContent = e.message;
        input.select();
        return;
      }
      if (result.pending) {
        showStep('mfa');
        pending = result.pending;
      } else if (enrolBox.checked && !document.getElementById('enrol-row').hidden) {
        await startEnrolment(result.idToken, false);
      } else {
        await postLogin({ id_token: result.idToken }, { idToken: result.idToken });
      }
    } catch (e) {
      error.textContent = 'Network error: the server did not answer';
    } finally {
      submit.disabled = false;
    }
  });

  /* POST /api/login; on success to the dashboard. A 403 SECOND_FACTOR_REQUIRED (operator_mfa MANDATORY) with a
   * token from a password sign-in moves to adding an authenticator app; after adding one, to signing in again. */
  async function postLogin(body, { idToken = null, enrolled = false } = {}) {
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
    if (data && data.code === 'SECOND_FACTOR_REQUIRED' && idToken && !enrolled) {
      await startEnrolment(idToken, true);
      return;
    }
    showStep('password');
    error.textContent = enrolled && data && data.code === 'SECOND_FACTOR_REQUIRED'
      ? 'Authenticator app added: sign in again, with a code from it'
      : (data && data.error ? String(data.error) : 'Sign-in failed (HTTP ' + res.status + ')');
    input.select();
  }

  function otpauthUri(secret, info) {
    const account = email.value.trim();
    const params = new URLSearchParams({ secret, issuer: 'OperatorLock', algorithm: String(info.hashingAlgorithm || 'SHA1'),
      digits: String(info.verificationCodeLength || 6), period: String(info.periodSec || 30) });
    return 'otpauth://totp/' + encodeURIComponent('OperatorLock:' + account) + '?' + params.toString();
  }

  /* v2/accounts/mfaEnrollment:start with the fresh ID token → the shared key, shown for the app to add. */
  async function startEnrolment(idToken, required) {
    let answer;
    try {
      answer = await toolkit('/v2/accounts/mfaEnrollment:start', { idToken, totpEnrollmentInfo: {} });
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      showStep('password');
      error.textContent = e.message;
      return;
    }
    const info = answer.ok && answer.data ? answer.data.totpSessionInfo : null;
    if (!info || typeof info.sharedSecretKey !== 'string' || typeof info.sessionInfo !== 'string') {
      showStep('password');
      error.textContent = {
        UNVERIFIED_EMAIL: 'An authenticator app needs a verified email address: ask an administrator to grant '
          + 'your account again (python -m scripts.operators grant EMAIL marks it verified)',
        OPERATION_NOT_ALLOWED: 'This deployment does not offer authenticator apps (operator_mfa is DISABLED)',
        SECOND_FACTOR_EXISTS: 'This account already has an authenticator app: sign in with a code from it',
      }[answer.code] || 'Firebase Authentication refused to add an authenticator app ('
        + (answer.code || 'HTTP ' + answer.status) + ')';
      return;
    }
    showStep('enrol');
    enrolment = { idToken, session: info.sessionInfo, required };
    secretBox.textContent = info.sharedSecretKey.replace(/(.{4})/g, '$1 ').trim();
    secretLink.href = otpauthUri(info.sharedSecretKey, info);
    secretLink.hidden = false;
    document.getElementById('enrol-why').textContent = required
      ? 'This desk requires a second factor: add an authenticator app to finish signing in.'
      : 'From now on every sign-in will also ask for the code your app shows.';
    document.getElementById('enrol-skip').hidden = required;
  }

  function stepError(e, field) {
    if (!(e instanceof Refusal)) {
      error.textContent = 'Network error: the server did not answer';
      return;
    }
    error.textContent = e.message;
    field.select();
  }

  steps.enrol.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const button = document.getElementById('enrol-submit');
    button.disabled = true;
    try {
      if (!enrolment) throw new Refusal('Start over: sign in with your email and password');
      const current = enrolment;
      const answer = await toolkit('/v2/accounts/mfaEnrollment:finalize', {
        idToken: current.idToken, displayName: 'Authenticator app',
        totpVerificationInfo: { sessionInfo: current.session, verificationCode: sixDigits(enrolCode) },
      });
      const token = answer.ok && answer.data && typeof answer.data.idToken === 'string' ? answer.data.idToken : '';
      if (token) {
        showStep('password');  // the key leaves the page
        await postLogin({ id_token: token }, { idToken: token, enrolled: true });
      } else if (WRONG_CODE.has(answer.code)) {
        throw new Refusal(WRONG_CODE_TEXT + ' (check that the key was typed exactly)');
      } else if (START_OVER.has(answer.code)) {
        showStep('password');
        error.textContent = 'Adding the authenticator app took too long: start over with your email and password';
      } else {
        throw new Refusal('Firebase Authentication refused the code (' + (answer.code || 'HTTP ' + answer.status) + ')');
      }
    } catch (e) {
      stepError(e, enrolCode);
    } finally {
      button.disabled = false;
    }
  });

  steps.mfa.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const button = document.getElementById('mfa-submit');
    button.disabled = true;
    try {
      if (!pending) throw new Refusal('Start over: sign in with your email and password');
      const answer = await toolkit('/v2/accounts/mfaSignIn:finalize', {
        mfaPendingCredential: pending.credential, mfaEnrollmentId: pending.enrolmentId,
        totpVerificationInfo: { verificationCode: sixDigits(mfaCode) },
      });
      const token = answer.ok && answer.data && typeof answer.data.idToken === 'string' ? answer.data.idToken : '';
      if (token) {
        await postLogin({ id_token: token }, { idToken: null });
      } else if (WRONG_CODE.has(answer.code)) {
        throw new Refusal(WRONG_CODE_TEXT);
      } else if (START_OVER.has(answer.code)) {
        showStep('password');
        error.textContent = 'This sign-in expired before the code was entered: start over with your email and password';
      } else if (answer.code === 'TOO_MANY_ATTEMPTS_TRY_LATER') {
        throw new Refusal('Too many sign-in attempts for this account: try again later');
      } else {
        throw new Refusal('Firebase Authentication refused the code (' + (answer.code || 'HTTP ' + answer.status) + ')');
      }
    } catch (e) {
      stepError(e, mfaCode);
    } finally {
      button.disabled = false;
    }
  });

  document.getElementById('mfa-restart').addEventListener('click', () => { error.textContent = ''; showStep('password'); });
  document.getElementById('enrol-cancel').addEventListener('click', () => { error.textContent = ''; showStep('password'); });
  document.getElementById('enrol-skip').addEventListener('click', async () => {
    if (!enrolment) return;
    const token = enrolment.idToken;
    error.textContent = '';
    showStep('password');
    try {
      await postLogin({ id_token: token }, { idToken: token, enrolled: true });
    } catch (e) {
      error.textContent = 'Network error: the server did not answer';
    }
  });

  status();
}());
