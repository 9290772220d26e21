// Starts logins at an httpd instance and writes, for each, the callback a
// provider would post: the state cookie the login set, the state, and an
// id_token signed for that login's nonce. bench/run posts the lines with
// wrk (bench/post-callbacks.lua) to measure callbacks per second.
//
// Usage:
//   node mint-callbacks.mjs jwks KEY_FILE KID ALG
//       prints a JWK Set with the public part of the PEM private key
//   node mint-callbacks.mjs mint OPTIONS
//       --port P            HTTPS port of the instance on 127.0.0.1
//       --host H            tenant host, sent as SNI and in the Host header
//       --start PATH        path whose GET starts a login
//       --cookie-prefix S   name of the state cookie before the state
//       --key FILE          PEM private key that signs the id_tokens
//       --kid KID           key id put in the JOSE header
//       --alg RS256|ES256   signature algorithm
//       --issuer URL        iss claim
//       --client-id ID      aud claim
//       --count N           logins to start
//       --ca FILE           CA certificate of the instance
//       --out FILE          output, one callback a line (mode 0600)
//       --connections N     keep-alive connections (default 8)
//
// Output line: COOKIE_NAME=COOKIE_VALUE, STATE and ID_TOKEN, separated by
// tabs. Every token has its own jti, so that a replay cache that keys on
// jti (mod_auth_openidc's) treats each callback as new.
//
// Each GET goes out without cookies, as from a new browser, over a pool of
// keep-alive connections. Signing runs in libuv's thread pool, so RS256
// signing uses every core.

import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { parseArgs, promisify } from 'node:util';

const signAsync = promisify(sign);

// Lifetime of a minted id_token, in seconds. The module rejects an iat
// older than MTOIDCTokenMaxAge (600 s by default), so lines are posted
// within minutes of minting.
const TOKEN_LIFETIME = 3600;

function base64url(data) {
  return Buffer.from(data).toString('base64url');
}

function printJwks([keyFile, kid, alg]) {
  if (!keyFile || !kid || !['RS256', 'ES256'].includes(alg)) {
    throw new Error('usage: node mint-callbacks.mjs jwks KEY_FILE KID ALG');
  }
  const jwk = createPrivateKey(readFileSync(keyFile)).export({
    format: 'jwk',
  });
  const publicJwk = { kty: jwk.kty, kid, alg, use: 'sig' };
  for (const member of ['n', 'e', 'crv', 'x', 'y']) {
    if (jwk[member] !== undefined) {
      publicJwk[member] = jwk[member];
    }
  }
  console.log(JSON.stringify({ keys: [publicJwk] }, null, 2));
}

function readMintOptions(args) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      start: { type: 'string' },
      'cookie-prefix': { type: 'string' },
      key: { type: 'string' },
      kid: { type: 'string' },
      alg: { type: 'string' },
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      count: { type: 'string' },
      ca: { type: 'string' },
      out: { type: 'string' },
      connections: { type: 'string', default: '8' },
    },
  });
  for (const name of ['port', 'host', 'start', 'cookie-prefix', 'key', 'kid',
    'alg', 'issuer', 'client-id', 'count', 'ca', 'out']) {
    if (values[name] === undefined) {
      throw new Error(`--${name} is missing; see the usage at the top of ` +
                      'bench/mint-callbacks.mjs');
    }
  }
  if (!['RS256', 'ES256'].includes(values.alg)) {
    throw new Error(`--alg ${values.alg} is not RS256 or ES256`);
  }
  return values;
}

// Sends GET PATH without cookies and resolves to the status, the Location
// header and the Set-Cookie headers.
function getLogin(options, agent) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: Number(options.port),
      servername: options.host,
      path: options.start,
      method: 'GET',
      agent,
      headers: {
        Host: `${options.host}:${options.port}`,
        // mod_auth_openidc returns 401 instead of a redirect to a request
        // that does not look like a browser's.
        Accept: 'text/html',
      },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve({
        status: res.statusCode,
        location: res.headers.location,
        cookies: res.headers['set-cookie'] || [],
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// Returns the state, the nonce and the state cookie of a login response,
// or throws naming what is missing.
function loginParameters(response, cookiePrefix) {
  if (response.status !== 302 || !response.location) {
    throw new Error(`the login returned status ${response.status}, ` +
                    'expected a 302 redirect to the provider');
  }
  const query = new URL(response.location).searchParams;
  const state = query.get('state');
  const nonce = query.get('nonce');
  if (!state || !nonce) {
    throw new Error('the redirect to the provider lacks state or nonce');
  }
  const name = `${cookiePrefix}${state}=`;
  const cookie = response.cookies.find((value) => value.startsWith(name));
  if (cookie === undefined) {
    throw new Error(`the login set no cookie named ${cookiePrefix}<state>`);
  }
  return { state, nonce, cookie: cookie.split(';', 1)[0] };
}

async function signToken(options, key, nonce) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: options.alg, typ: 'JWT', kid: options.kid };
  const claims = {
    iss: options.issuer,
    aud: options['client-id'],
    sub: 'bench',
    nonce,
    iat: now,
    exp: now + TOKEN_LIFETIME,
    jti: randomBytes(16).toString('base64url'),
  };
  const input = `${base64url(JSON.stringify(header))}.` +
                `${base64url(JSON.stringify(claims))}`;
  // JWS (RFC 7518 section 3.4) takes the ECDSA signature as R || S, which
  // node:crypto calls ieee-p1363; RSA keys ignore dsaEncoding.
  const signature = await signAsync('sha256', Buffer.from(input),
                                    { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

async function mint(args) {
  const options = readMintOptions(args);
  const count = Number(options.count);
  const connections = Number(options.connections);
  const key = createPrivateKey(readFileSync(options.key));
  const agent = new Agent({
    keepAlive: true,
    maxSockets: connections,
    ca: readFileSync(options.ca),
  });
  const lines = new Array(count);
  let next = 0;

  async function worker() {
    while (next < count) {
      const index = next++;
      const login = loginParameters(await getLogin(options, agent),
                                    options['cookie-prefix']);
      const token = await signToken(options, key, login.nonce);
      lines[index] = `${login.cookie}\t${login.state}\t${token}`;
    }
  }

  await Promise.all(Array.from({ length: Math.min(connections, count) },
                               worker));
  agent.destroy();
  if (new Set(lines.map((line) => line.split('\t', 2)[1])).size !== count) {
    throw new Error('two logins returned the same state');
  }
  writeFileSync(options.out, `${lines.join('\n')}\n`, { mode: 0o600 });
}

async function main(argv) {
  const [command, ...args] = argv;
  if (command === 'jwks') {
    printJwks(args);
  }
  else if (command === 'mint') {
    await mint(args);
  }
  else {
    throw new Error('usage: node mint-callbacks.mjs jwks|mint ...; see ' +
                    'the top of bench/mint-callbacks.mjs');
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`mint-callbacks: ${error.message}`);
  process.exit(1);
});
