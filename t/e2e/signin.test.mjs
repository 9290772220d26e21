// Browser tests of the whole sign-in flow of the two-tenant demo: Chromium,
// httpd with mod_multitenant_oidc, the tenants' OpenID Connect providers and
// JupyterHub. Run them with t/e2e/run, which starts and stops the demo.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  SESSION_COOKIE, STATE_COOKIE_PREFIX, TENANTS, cookieNames, fetchDemo,
  hubApi, launchBrowser, openLogin, providerFormUrl, runInKernel, signIn,
  submitPassword,
} from './demo.mjs';

const A = TENANTS.a;
const B = TENANTS.b;

let browser;
const contexts = [];

async function newContext() {
  const context = await browser.newContext();
  contexts.push(context);
  return context;
}

async function hubUserName(page) {
  // JupyterHub's navigation bar shows the signed-in user's name.
  return (await page.locator('#login_widget').innerText()).trim();
}

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  for (const context of contexts) {
    await context.close();
  }
  await browser?.close();
});

test('alice at tenant A reaches the hub', { timeout: 60000 }, async () => {
  const context = await newContext();
  const page = await signIn(context, A, 'alice');

  assert.match(await hubUserName(page), /alice@tenant-a\.localhost/);
  assert.match(await page.locator('body').innerText(),
    /alice@tenant-a\.localhost/);

  const cookies = await context.cookies(A.origin);
  const session = cookies.find((cookie) => cookie.name === SESSION_COOKIE);
  assert.ok(session, `no ${SESSION_COOKIE} cookie after sign-in`);
  assert.equal(session.httpOnly, true);
  assert.equal(session.secure, true);
  assert.equal(session.sameSite, 'Lax');
  assert.equal(session.path, '/');
  for (const cookie of cookies) {
    assert.equal(cookie.secure, true, `cookie ${cookie.name} is not Secure`);
  }
  const stateCookies = cookies.filter(
    (cookie) => cookie.name.startsWith(STATE_COOKIE_PREFIX));
  assert.deepEqual(stateCookies.map((cookie) => cookie.name), [],
    'state cookie left after the callback');
});

test('bob at tenant B reaches the hub', { timeout: 60000 }, async () => {
  const context = await newContext();
  const page = await signIn(context, B, 'bob');

  assert.match(await hubUserName(page), /bob@tenant-b\.localhost/);
});

test('bob is a different hub user per tenant', { timeout: 90000 }, async () => {
  const pageA = await signIn(await newContext(), A, 'bob');
  const pageB = await signIn(await newContext(), B, 'bob');

  assert.match(await hubUserName(pageA), /bob@tenant-a\.localhost/);
  assert.match(await hubUserName(pageB), /bob@tenant-b\.localhost/);
  const bobA = await hubApi(A, '/users/bob%40tenant-a.localhost');
  const bobB = await hubApi(A, '/users/bob%40tenant-b.localhost');
  assert.equal(bobA.name, 'bob@tenant-a.localhost');
  assert.equal(bobB.name, 'bob@tenant-b.localhost');
  assert.equal(bobA.auth_state?.tenant_api_base,
    'https://tenant-a.localhost:8443/api');
  assert.equal(bobB.auth_state?.tenant_api_base,
    'https://tenant-b.localhost:8443/api');
  const users = await hubApi(A, '/users');
  const plainBob = users.filter((user) => user.name === 'bob');
  assert.deepEqual(plainBob, [], 'a hub user named plain "bob" exists');
});

test('tenant A session does not sign in at tenant B', { timeout: 60000 },
  async () => {
    const context = await newContext();
    const page = await signIn(context, A, 'alice');

    await page.goto(`${B.origin}/hub/home`);
    await page.waitForURL(providerFormUrl(B));
    assert.ok(!(await cookieNames(context, B)).includes(SESSION_COOKIE),
      `tenant B received a ${SESSION_COOKIE} cookie`);

    // The same session cookie value, copied to tenant B's host, must not
    // be accepted there either.
    const sessionA = (await context.cookies(A.origin))
      .find((cookie) => cookie.name === SESSION_COOKIE);
    assert.ok(sessionA, `no ${SESSION_COOKIE} cookie at tenant A`);
    const copied = await newContext();
    await copied.addCookies([{
      name: SESSION_COOKIE, value: sessionA.value, url: B.origin,
      secure: true, httpOnly: true, sameSite: 'Lax',
    }]);
    const copiedPage = await copied.newPage();
    await copiedPage.goto(`${B.origin}/hub/home`);
    await copiedPage.waitForURL(providerFormUrl(B));
  });

test('wrong password does not sign in', { timeout: 60000 }, async () => {
  const context = await newContext();
  const page = await openLogin(context, A);

  await submitPassword(page, 'alice', 'not-the-password');

  await page.waitForURL(providerFormUrl(A));
  assert.match(await page.locator('[role="alert"]').innerText(),
    /Invalid user name or password/);
  assert.ok(!(await cookieNames(context, A)).includes(SESSION_COOKIE),
    `${SESSION_COOKIE} cookie set after a failed sign-in`);
  await page.goto(`${A.origin}/hub/home`);
  await page.waitForURL(providerFormUrl(A));
});

test('cancel at provider does not sign in', { timeout: 60000 }, async () => {
  const context = await newContext();
  const page = await openLogin(context, A);

  const [callback] = await Promise.all([
    page.waitForResponse(`${A.origin}/hub/oauth_callback`),
    page.click('text=Cancel'),
  ]);

  assert.equal(callback.status(), 403);
  assert.ok(!(await cookieNames(context, A)).includes(SESSION_COOKIE),
    `${SESSION_COOKIE} cookie set after a cancelled sign-in`);
});

test('forged user header is ignored', { timeout: 30000 }, async () => {
  const forged = {
    REMOTE_USER: 'alice@tenant-a.localhost',
    'X-Tenant-API-Base': 'https://attacker.localhost/api',
  };

  const home = await fetchDemo(`${A.origin}/hub/home`, { headers: forged });
  assert.equal(home.status, 302);
  assert.match(home.headers.location, /\/hub\/login\?next=/);

  const login = await fetchDemo(`${A.origin}/hub/login`, { headers: forged });
  assert.equal(login.status, 302);
  assert.ok(login.headers.location.startsWith(`${A.providerOrigin}/auth?`),
    `login redirected to ${login.headers.location}`);

  const api = await fetchDemo(`${A.origin}/hub/api/user`, { headers: forged });
  assert.equal(api.status, 403);
});

test('tenant without information gets 502', { timeout: 30000 }, async () => {
  // tenant-c.localhost matches the tenant host pattern, but the demo has no
  // tenant information file for it.
  const response = await fetchDemo('https://tenant-c.localhost:8443/hub/login');

  assert.equal(response.status, 502);
  assert.match(response.headers['content-type'], /^text\/html/);
  assert.match(response.body, /tenant-c\.localhost/);
});

test('host outside tenant patterns gets 404', { timeout: 30000 }, async () => {
  const response = await fetchDemo('https://localhost:8443/hub/login');

  assert.equal(response.status, 404);
});

test('logout ends the session without a new sign-in', { timeout: 60000 },
  async () => {
    const context = await newContext();
    const page = await signIn(context, A, 'alice');

    const response = await page.goto(`${A.origin}/hub/logout`);

    assert.equal(response.status(), 200);
    assert.equal(page.url(), `${A.origin}/hub/logout`);
    assert.match(await page.locator('body').innerText(), /logged out/i);
    assert.ok(!(await cookieNames(context, A)).includes(SESSION_COOKIE),
      `${SESSION_COOKIE} cookie still set after logout`);
  });

test('notebook server gets TENANT_API_BASE', { timeout: 180000 }, async () => {
  const context = await newContext();
  const page = await signIn(context, A, 'alice');
  const name = 'alice@tenant-a.localhost';
  try {
    await page.goto(`${A.origin}/hub/spawn`);
    await page.waitForURL(/\/user\/[^/]+\/tree/, { timeout: 120000 });
    const serverPath = new URL(page.url()).pathname.replace(/tree.*$/, '');
    assert.equal(decodeURIComponent(serverPath), `/user/${name}/`);

    const output = await runInKernel(page, serverPath,
      "import os; print(os.environ.get('TENANT_API_BASE'))");

    assert.equal(output.trim(), 'https://tenant-a.localhost:8443/api');
  } finally {
    await hubApi(A, `/users/${encodeURIComponent(name)}/server`, 'DELETE')
      .catch((error) => console.error(`stopping ${name}'s server: ${error}`));
  }
});
