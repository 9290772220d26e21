// One OpenID Connect provider of the two-tenant demo, built on the npm
// package oidc-provider 9. Each tenant runs its own copy with its own
// settings file, signing keys and users.
//
// Usage:
//   node server.js --config idp-a.json --jwks JWKS_FILE \
//       --tls-cert CERT_PEM --tls-key KEY_PEM [--listen 127.0.0.1]
//
// The settings file names the issuer (its port is the listening port), the
// ID token signing algorithm, the client's redirect URIs and the users with
// their passwords. The server listens on 127.0.0.1 unless --listen names
// another address. It serves the provider's own endpoints plus a small
// sign-in page under /interaction/, and grants consent for the demo client
// without asking.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const MAX_FORM_BYTES = 8192;

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

const PAGE_STYLE = `
  body { font-family: sans-serif; max-width: 24rem; margin: 3rem auto; }
  label { display: block; margin: 0.8rem 0; }
  input { display: block; width: 100%; padding: 0.4rem; box-sizing: border-box; }
  button { padding: 0.5rem 1.2rem; }
  .error { color: #a00; }
`;

function escapeHtml(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function readOptions() {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      jwks: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1' },
    },
  });
  for (const name of ['config', 'jwks', 'tls-cert', 'tls-key']) {
    if (!values[name]) {
      console.error(`missing option --${name}`);
      process.exit(2);
    }
  }
  return values;
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest();
}

// Checks a user name and password against the settings file. Both sides are
// hashed first so that the comparison takes the same time for any input,
// including an unknown user name.
function checkPassword(users, username, password) {
  const known = Object.hasOwn(users, username);
  const expected = known ? users[username] : randomBytes(16).toString('hex');
  return timingSafeEqual(sha256(expected), sha256(password)) && known;
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    ...SECURITY_HEADERS,
  });
  res.end(html);
}

function renderPage(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function renderLoginForm(settings, details, username, error) {
  const uid = escapeHtml(details.uid);
  const message = error
    ? `<p class="error" role="alert">${escapeHtml(error)}</p>\n`
    : '';
  const body = `<p>Sign in to continue to
<strong>${escapeHtml(details.params.client_id)}</strong>.</p>
${message}<form method="post" action="/interaction/${uid}/login"
      autocomplete="off">
<label>User name
<input name="username" value="${escapeHtml(username)}" required autofocus>
</label>
<label>Password
<input type="password" name="password" required>
</label>
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${uid}/abort">Cancel</a></p>`;
  return renderPage(settings.title, body);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    const type = (req.headers['content-type'] || '').split(';')[0].trim();
    if (type !== 'application/x-www-form-urlencoded') {
      reject(new Error(`unsupported content type "${type}"`));
      return;
    }
    let size = 0;
    const chunks = [];
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        reject(new Error(`form body larger than ${MAX_FORM_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
  });
}

// Grants every scope and claim that the demo client requested, so the user
// never sees a consent page. A real provider would ask the user or apply a
// policy here.
async function grantConsent(provider, details) {
  const { accountId } = details.session;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) {
    grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  }
  if (missing.missingOIDCClaims) {
    grant.addOIDCClaims(missing.missingOIDCClaims);
  }
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(
      missing.missingResourceScopes,
    )) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return grant.save();
}

function makeInteractionHandler(provider, settings, log) {
  return async function handleInteraction(req, res, pathname) {
    const [, , uid, action = ''] = pathname.split('/');
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (error) {
      if (!(error instanceof errors.SessionNotFound)) {
        throw error;
      }
      log(`rejected ${req.method} ${pathname}: no current sign-in request ` +
        `(${error.error_description || error.message})`);
      sendHtml(res, 400, renderPage('Sign-in expired', `<p>This sign-in
request has expired or was not found. Start again from the application.</p>`));
      return;
    }
    if (details.uid !== uid) {
      log(`rejected ${req.method} ${pathname}: the current sign-in request ` +
        `is ${details.uid}`);
      sendHtml(res, 400, renderPage('Sign-in mismatch', `<p>This page does
not belong to the current sign-in request. Start again from the
application.</p>`));
      return;
    }

    const prompt = details.prompt.name;
    if (req.method === 'GET' && action === '' && prompt === 'login') {
      sendHtml(res, 200, renderLoginForm(settings, details, '', ''));
      return;
    }
    if (req.method === 'GET' && action === '' && prompt === 'consent') {
      const grantId = await grantConsent(provider, details);
      log(`consent granted to ${details.params.client_id} for ` +
        `${details.session.accountId}`);
      await provider.interactionFinished(req, res, { consent: { grantId } }, {
        mergeWithLastSubmission: true,
      });
      return;
    }
    if (req.method === 'POST' && action === 'login' && prompt === 'login') {
      await finishLogin(req, res, details);
      return;
    }
    if (req.method === 'GET' && action === 'abort') {
      log('sign-in cancelled by the user');
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'The user cancelled the sign-in.',
      }, { mergeWithLastSubmission: false });
      return;
    }
    log(`rejected ${req.method} ${pathname}: no such step for prompt ${prompt}`);
    sendHtml(res, 404, renderPage('Not found', '<p>No such sign-in step.</p>'));
  };

  async function finishLogin(req, res, details) {
    let form;
    try {
      form = await readForm(req);
    } catch (error) {
      log(`rejected sign-in form: ${error.message}`);
      sendHtml(res, 400, renderPage('Invalid form', `<p>${escapeHtml(
        error.message)}</p>`));
      return;
    }
    const username = form.get('username') || '';
    const password = form.get('password') || '';
    if (!checkPassword(settings.users, username, password)) {
      log(`sign-in failed for user ${JSON.stringify(username)}: invalid user ` +
        'name or password');
      sendHtml(res, 401, renderLoginForm(settings, details, username,
        'Invalid user name or password.'));
      return;
    }
    log(`sign-in succeeded for user ${JSON.stringify(username)}`);
    await provider.interactionFinished(req, res, {
      login: { accountId: username },
    }, { mergeWithLastSubmission: false });
  }
}

function makeProvider(settings, jwks) {
  const users = settings.users;
  return new Provider(settings.issuer, {
    clients: [{
      client_id: settings.client.client_id,
      token_endpoint_auth_method: 'none',
      response_types: ['id_token', 'code'],
      grant_types: ['implicit', 'authorization_code'],
      redirect_uris: settings.client.redirect_uris,
      id_token_signed_response_alg: settings.signingAlg,
    }],
    jwks,
    responseTypes: ['id_token', 'code'],
    // The subject of each user is the user name.
    async findAccount(ctx, sub) {
      if (!Object.hasOwn(users, sub)) {
        return undefined;
      }
      return { accountId: sub, async claims() { return { sub }; } };
    },
    features: { devInteractions: { enabled: false } },
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },
    // Cookie signing keys last as long as the process, like the in-memory
    // store of sessions and grants.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.set(SECURITY_HEADERS);
      const lines = Object.entries(out)
        .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: ` +
          `${escapeHtml(value)}</p>`)
        .join('\n');
      ctx.body = renderPage('Sign-in error', lines);
    },
  });
}

function main() {
  const options = readOptions();
  const settings = readJson(options.config);
  const jwks = readJson(options.jwks);
  const issuer = new URL(settings.issuer);
  const name = issuer.hostname;
  const log = (message) => console.log(`${name}: ${message}`);

  const provider = makeProvider(settings, jwks);
  provider.on('server_error', (ctx, error) => {
    log(`server error on ${ctx.method} ${ctx.path}: ${error.stack}`);
  });
  provider.on('authorization.error', (ctx, error) => {
    log(`authorization request rejected: ${error.message} ` +
      `(${error.error_description || 'no description'})`);
  });

  const handleInteraction = makeInteractionHandler(provider, settings, log);
  const handleProvider = provider.callback();
  const server = createServer({
    cert: readFileSync(options['tls-cert']),
    key: readFileSync(options['tls-key']),
  }, (req, res) => {
    const { pathname } = new URL(req.url, settings.issuer);
    if (!pathname.startsWith('/interaction/')) {
      handleProvider(req, res);
      return;
    }
    handleInteraction(req, res, pathname).catch((error) => {
      log(`interaction failed on ${req.method} ${pathname}: ${error.stack}`);
      if (!res.headersSent) {
        sendHtml(res, 500, renderPage('Sign-in error',
          '<p>The sign-in failed. Start again from the application.</p>'));
      } else {
        res.destroy();
      }
    });
  });

  const port = Number(issuer.port || 443);
  server.listen(port, options.listen, () => {
    log(`issuer ${settings.issuer} listening on ${options.listen}:${port}, ` +
      `signing with ${jwks.keys.map((key) => key.alg).join(', ')}`);
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      log(`stopping on ${signal}`);
      server.close();
      server.closeAllConnections();
    });
  }
}

main();
