// Helpers for the browser tests against the running two-tenant demo:
// launching Chromium, signing in through a provider's form, and plain HTTPS
// requests to the demo's servers.
//
// The demo must be running (scripts/demo --background). Its certificates and
// the hub API token are read from run/demo/.

import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUN_DIR = join(ROOT, 'run', 'demo');

export const TENANTS = {
  a: {
    host: 'tenant-a.localhost',
    origin: 'https://tenant-a.localhost:8443',
    providerOrigin: 'https://idp-a.localhost:9443',
    passwords: { alice: 'alice-a-demo', bob: 'bob-a-demo' },
  },
  b: {
    host: 'tenant-b.localhost',
    origin: 'https://tenant-b.localhost:8443',
    providerOrigin: 'https://idp-b.localhost:9444',
    passwords: { bob: 'bob-b-demo', carol: 'carol-b-demo' },
  },
};

export const SESSION_COOKIE = '__Host-mto_session';
export const STATE_COOKIE_PREFIX = '__Host-mto_state_';

const CHROMIUM = process.env.MTO_E2E_CHROMIUM || '/usr/bin/chromium';

function readRunFile(name) {
  return readFileSync(join(RUN_DIR, name));
}

// Base64 SHA-256 of the server key's SubjectPublicKeyInfo, the form that
// Chromium's --ignore-certificate-errors-spki-list expects.
function serverKeyHash() {
  const certificate = new X509Certificate(readRunFile('tls/server.pem'));
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

// Launches Debian's Chromium, which trusts the demo's server key in addition
// to the usual certificate checks. Chromium honours the SPKI list only with
// a --user-data-dir, and Playwright passes a fresh one.
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${serverKeyHash()}`,
    ],
  });
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Matches every page of the provider's sign-in form for one tenant.
export function providerFormUrl(tenant) {
  return new RegExp(`^${escapeRegExp(tenant.providerOrigin)}/interaction/`);
}

// Opens the hub's login URL on the tenant host and waits for the provider's
// sign-in form. Returns the page.
export async function openLogin(context, tenant, next = '/hub/home') {
  const page = await context.newPage();
  await page.goto(`${tenant.origin}/hub/login?next=${encodeURIComponent(next)}`);
  await page.waitForURL(providerFormUrl(tenant));
  return page;
}

export async function submitPassword(page, username, password) {
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
}

// Signs a user in through the tenant's provider and waits until the browser
// is back on the hub's home page. Returns the page.
export async function signIn(context, tenant, username) {
  const page = await openLogin(context, tenant);
  await submitPassword(page, username, tenant.passwords[username]);
  await page.waitForURL(`${tenant.origin}/hub/home`);
  return page;
}

export async function cookieNames(context, tenant) {
  const cookies = await context.cookies(tenant.origin);
  return cookies.map((cookie) => cookie.name);
}

// Sends one HTTPS request to a demo server and returns
// { status, headers, body }. Names under .localhost resolve to 127.0.0.1
// here, as Chromium and curl do on their own. Any other name is rejected.
export function fetchDemo(url, { method = 'GET', headers = {}, body } = {}) {
  const ca = readRunFile('tls/ca.pem');
  const lookup = (hostname, options, callback) => {
    if (hostname !== 'localhost' && !hostname.endsWith('.localhost')) {
      callback(new Error(`not resolving ${hostname}: only *.localhost ` +
        'names are demo hosts'));
      return;
    }
    if (options.all) {
      callback(null, [{ address: '127.0.0.1', family: 4 }]);
    } else {
      callback(null, '127.0.0.1', 4);
    }
  };
  return new Promise((resolve, reject) => {
    const options = { method, headers, ca, lookup };
    const request = httpsRequest(url, options, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({
        status: response.statusCode,
        headers: response.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      response.on('error', reject);
    });
    request.setTimeout(15000, () => {
      request.destroy(new Error(`no answer from ${url} within 15 s`));
    });
    request.on('error', reject);
    request.end(body);
  });
}

// Calls the hub's REST API through httpd as the demo's test service.
export async function hubApi(tenant, path, method = 'GET') {
  const token = readRunFile('hub-api-token').toString('utf8').trim();
  const response = await fetchDemo(`${tenant.origin}/hub/api${path}`, {
    method,
    headers: { Authorization: `token ${token}` },
  });
  if (response.status >= 300) {
    throw new Error(`hub API ${method} ${path} returned HTTP ` +
      `${response.status}: ${response.body.slice(0, 300)}`);
  }
  return response.body ? JSON.parse(response.body) : null;
}

// Starts a kernel on the user's notebook server, runs `code` through the
// kernel's websocket (proxied by httpd) and returns what it printed. Runs in
// the page, so the browser's cookies authenticate the requests.
export function runInKernel(page, serverPath, code) {
  return page.evaluate(async ({ base, source }) => {
    const xsrfCookie = document.cookie.split('; ')
      .find((cookie) => cookie.startsWith('_xsrf='));
    const xsrf = xsrfCookie ? decodeURIComponent(xsrfCookie.slice(6)) : '';
    const headers = { 'Content-Type': 'application/json', 'X-XSRFToken': xsrf };
    const started = await fetch(`${base}api/kernels`, {
      method: 'POST', headers, body: JSON.stringify({ name: 'python3' }),
    });
    if (!started.ok) {
      throw new Error(`starting a kernel returned HTTP ${started.status}`);
    }
    const kernel = await started.json();
    const session = crypto.randomUUID();
    const msgId = crypto.randomUUID();
    const socket = new WebSocket(`wss://${location.host}${base}api/kernels/` +
      `${kernel.id}/channels?session_id=${session}`);
    try {
      return await new Promise((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => {
          reject(new Error('kernel gave no result within 60 s; output so ' +
            `far: ${output}`));
        }, 60000);
        socket.onerror = () => {
          clearTimeout(timer);
          reject(new Error('kernel websocket failed'));
        };
        socket.onopen = () => socket.send(JSON.stringify({
          header: {
            msg_id: msgId, msg_type: 'execute_request', session,
            username: '', version: '5.3', date: new Date().toISOString(),
          },
          parent_header: {},
          metadata: {},
          content: {
            code: source, silent: false, store_history: false,
            user_expressions: {}, allow_stdin: false, stop_on_error: true,
          },
          channel: 'shell',
          buffers: [],
        }));
        socket.onmessage = (event) => {
          const message = JSON.parse(event.data);
          if (message.parent_header.msg_id !== msgId) {
            return;
          }
          if (message.msg_type === 'stream') {
            output += message.content.text;
          } else if (message.msg_type === 'error') {
            output += `${message.content.ename}: ${message.content.evalue}`;
          } else if (message.msg_type === 'status'
            && message.content.execution_state === 'idle') {
            clearTimeout(timer);
            resolve(output);
          }
        };
      });
    } finally {
      socket.close();
      await fetch(`${base}api/kernels/${kernel.id}`, {
        method: 'DELETE', headers,
      });
    }
  }, { base: serverPath, source: code });
}
