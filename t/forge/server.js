'use strict';
/*
 * Test provider for the Apache::Test suite. One process plays the tenant
 * information service and the OpenID Connect providers of several test
 * tenants, friendly and hostile, and mints ID tokens on request, so the
 * tests can hand the module tokens that no real provider would issue.
 *
 * HTTPS listener (loopback only):
 *   GET  /info/<host>                         tenant information documents
 *   GET  /<tenant>/.well-known/openid-configuration
 *   GET  /<tenant>/jwks                       public signing keys
 *   GET  /attacker/jwks                       keys no tenant publishes
 *   POST /<tenant>/token                      token endpoint of the code
 *                                             flow, see handleToken
 *   POST /mint                                returns a compact JWS
 *   POST /control/code                        issues an authorization
 *                                             code, see issueCode
 *   POST /rotate                              gives a provider a new key,
 *                                             {tenant, drop_previous}
 *   GET  /log, POST /log/clear                requests received so far
 *   GET  /log/token                           token requests and their
 *                                             outcome
 *   POST /control/tenant                      overrides one host's tenant
 *                                             information, see
 *                                             tenantControl
 *   GET  /info/gen-<id>.tenants.test          generated tenants, any id
 * HTTP listener (loopback only):
 *   ANY  /echo/...                            returns the request as JSON
 *
 * Usage: node server.js --port N --echo-port N --cert FILE --key FILE
 *                       [--name forge.localhost] [--pid-file FILE]
 * Uses only built-in modules.
 */

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

const USAGE = 'usage: node server.js --port N --echo-port N --cert FILE '
    + '--key FILE [--name forge.localhost] [--pid-file FILE]';
const MAX_BODY = 1024 * 1024;
/* Larger than the module's default MTOIDCMaxResponseSize of 262144. */
const HUGE_BODY_BYTES = 400 * 1024;
/* A request left without a response is closed after this many ms. */
const HANG_LIMIT_MS = 60 * 1000;

function parseArguments(argv) {
    const options = { name: 'forge.localhost' };
    for (let i = 2; i < argv.length; i += 2) {
        const flag = argv[i];
        const value = argv[i + 1];
        if (value === undefined) {
            throw new Error(`missing value for ${flag}: ${USAGE}`);
        }
        switch (flag) {
        case '--port': options.port = Number(value); break;
        case '--echo-port': options.echoPort = Number(value); break;
        case '--cert': options.cert = value; break;
        case '--key': options.key = value; break;
        case '--name': options.name = value; break;
        case '--pid-file': options.pidFile = value; break;
        default: throw new Error(`invalid option ${flag}: ${USAGE}`);
        }
    }
    for (const required of ['port', 'echoPort', 'cert', 'key']) {
        if (!options[required]) {
            throw new Error(`missing option for ${required}: ${USAGE}`);
        }
    }
    return options;
}

const options = parseArguments(process.argv);
const base = `https://${options.name}:${options.port}`;

function makeKey(type) {
    if (type === 'RSA') {
        return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    }
    return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function makeSigner(kid, type, alg) {
    const pair = makeKey(type);
    return { kid, type, alg, privateKey: pair.privateKey,
             publicKey: pair.publicKey };
}

/* Signing identities of the providers, created fresh on every start. */
const providers = {
    a: makeSigner('a-rsa-1', 'RSA', 'RS256'),
    b: makeSigner('b-ec-1', 'EC', 'ES256'),
    c: makeSigner('c-rsa-1', 'RSA', 'RS256'),
    d: makeSigner('d-rsa-1', 'RSA', 'RS256'),
    wrongdisc: makeSigner('wrongdisc-rsa-1', 'RSA', 'RS256'),
    /* Tenants of the key selection tests in validation.t and
     * rp_certification.t, each used by one test file only. */
    single: makeSigner('single-rsa-1', 'RSA', 'RS256'),
    multikey: makeSigner('multikey-rsa-1', 'RSA', 'RS256'),
    rotating: makeSigner('rotating-rsa-1', 'RSA', 'RS256'),
    keyrules: makeSigner('keyrules-rsa-1', 'RSA', 'RS256'),
    partial: makeSigner('partial-rsa-1', 'RSA', 'RS256'),
    /* Signs with RS256 but advertises only ES256 in discovery. */
    advertised: makeSigner('advertised-rsa-1', 'RSA', 'RS256'),
};
/* A second published RSA key of tenant multikey. */
const multikeySecond = makeSigner('multikey-rsa-2', 'RSA', 'RS256');
/* Keys replaced by POST /rotate, still published in the JWKS. */
const retiredSigners = {};

/*
 * Gives a provider a new current key with the next kid. The old key stays
 * in the JWKS unless dropPrevious is true, which removes every earlier key
 * from it, as a provider that replaces its key at once does.
 */
function rotate(tenant, dropPrevious) {
    const current = providers[tenant];
    if (!current) {
        throw new Error(`unknown tenant ${tenant}: expected one of `
                        + `${Object.keys(providers).join(', ')}`);
    }
    const retired = retiredSigners[tenant] || [];
    retired.push(current);
    retiredSigners[tenant] = retired;
    if (dropPrevious) {
        for (const signer of retired) {
            signer.unpublished = true;
        }
    }
    const kid = `${tenant}-${current.type.toLowerCase()}-${retired.length + 1}`;
    providers[tenant] = makeSigner(kid, current.type, current.alg);
    return { kid };
}

function providerJwks(tenant) {
    const signers = [providers[tenant]].concat(retiredSigners[tenant] || [])
        .filter((signer) => !signer.unpublished);
    const keys = signers.map(publicJwk);
    return { keys: (extraKeys[tenant] || ((own) => own))(keys) };
}

/*
 * Key sets that differ from the provider's own public keys, by tenant.
 * Each function takes the provider's entries and returns the published
 * list. keyrules publishes its one signing key again under kids whose
 * "alg", "use" or "key_ops" forbid RS256 verification. partial puts an
 * entry that no parser can import before its good key.
 */
const extraKeys = {
    multikey: (own) => own.concat([publicJwk(multikeySecond)]),
    keyrules: (own) => own.concat([
        Object.assign({}, own[0], { kid: 'keyrules-ps256', alg: 'PS256' }),
        Object.assign({}, own[0], { kid: 'keyrules-es256', alg: 'ES256' }),
        Object.assign({}, own[0], { kid: 'keyrules-enc', use: 'enc' }),
        Object.assign({}, own[0], { kid: 'keyrules-encrypt-ops',
                                    key_ops: ['encrypt'] }),
    ]),
    partial: (own) => [{ kty: 'RSA', kid: 'partial-broken', use: 'sig',
                         alg: 'RS256', n: '%%not-base64url%%', e: 'AQAB' }]
        .concat(own),
};
const attackers = {
    RSA: makeSigner('attacker-rsa', 'RSA', 'RS256'),
    EC: makeSigner('attacker-ec', 'EC', 'ES256'),
};

function publicJwk(signer) {
    const jwk = signer.publicKey.export({ format: 'jwk' });
    return Object.assign(jwk, { kid: signer.kid, use: 'sig',
                                alg: signer.alg });
}

/*
 * The attacker's key set lists each attacker key under its own kid and
 * under the kid of every provider of the same key type, so a token that
 * names a provider's kid verifies against it.
 */
function attackerJwks() {
    const keys = Object.values(attackers).map(publicJwk);
    for (const provider of Object.values(providers)) {
        const jwk = publicJwk(attackers[provider.type]);
        jwk.kid = provider.kid;
        keys.push(jwk);
    }
    return keys;
}

function link(relation, path) {
    return { relation, href: base + path };
}

/* Tenant information of a tenant that names its own jwks_uri and uses the
 * configured client_id. */
function keySelectionTenant(tenant) {
    return {
        issuerUrl: `${base}/${tenant}`,
        links: [link('authorization_endpoint', `/${tenant}/authorize`),
                link('jwks_uri', `/${tenant}/jwks`)],
    };
}

/*
 * Tenant information documents by host name. A function value builds the
 * whole response itself, for the hostile cases.
 */
const tenantInfo = {
    'a.tenants.test': {
        issuerUrl: `${base}/a`,
        clientId: 'client-a',
        links: [
            link('authorization_endpoint', '/a/authorize'),
            link('token_endpoint', '/a/token'),
            link('jwks_uri', '/a/jwks'),
            link('end_session_endpoint', '/a/logout'),
        ],
    },
    /* No clientId and no jwks_uri: the module reads discovery. */
    'b.tenants.test': {
        issuerUrl: `${base}/b`,
        links: [link('authorization_endpoint', '/b/authorize')],
    },
    /* Key rotation and refresh limits, each in its own test only. */
    'c.tenants.test': {
        issuerUrl: `${base}/c`,
        links: [link('authorization_endpoint', '/c/authorize'),
                link('jwks_uri', '/c/jwks')],
    },
    'd.tenants.test': {
        issuerUrl: `${base}/d`,
        links: [link('authorization_endpoint', '/d/authorize'),
                link('jwks_uri', '/d/jwks')],
    },
    'single.tenants.test': keySelectionTenant('single'),
    'multikey.tenants.test': keySelectionTenant('multikey'),
    'rotating.tenants.test': keySelectionTenant('rotating'),
    'keyrules.tenants.test': keySelectionTenant('keyrules'),
    'partial.tenants.test': keySelectionTenant('partial'),
    /* No jwks_uri, so the module reads discovery and its algorithms. */
    'advertised.tenants.test': {
        issuerUrl: `${base}/advertised`,
        links: [link('authorization_endpoint', '/advertised/authorize')],
    },
    /* Resolved only through the vhost whose info URL is a closed port. */
    'closed.tenants.test': {
        issuerUrl: `${base}/a`,
        links: [link('authorization_endpoint', '/a/authorize')],
    },
    'foreign.tenants.test': {
        issuerUrl: `https://attacker.localhost:${options.port}/x`,
        links: [link('authorization_endpoint', '/a/authorize'),
                link('jwks_uri', '/a/jwks')],
    },
    'plainissuer.tenants.test': {
        issuerUrl: `http://${options.name}:${options.port}/a`,
        links: [link('authorization_endpoint', '/a/authorize'),
                link('jwks_uri', '/a/jwks')],
    },
    /* Discovery of this issuer names a different issuer. */
    'wrongdisc.tenants.test': {
        issuerUrl: `${base}/wrongdisc`,
        links: [link('authorization_endpoint', '/wrongdisc/authorize')],
    },
    'malformed.tenants.test': (request, response) => {
        send(response, 200, '{"issuerUrl": "' + base + '/a", "links": [',
             'application/json');
    },
    'missing.tenants.test': (request, response) => {
        sendJson(response, 404, { error: 'tenant not found' });
    },
    'huge.tenants.test': (request, response) => {
        const document = {
            issuerUrl: `${base}/a`,
            links: [link('authorization_endpoint', '/a/authorize'),
                    link('jwks_uri', '/a/jwks')],
            padding: 'x'.repeat(HUGE_BODY_BYTES),
        };
        sendJson(response, 200, document);
    },
    'redirect.tenants.test': (request, response) => {
        response.writeHead(302, { Location: `${base}/info/a.tenants.test`,
                                  'Content-Length': 0 });
        response.end();
    },
    'slow.tenants.test': (request, response) => {
        hang(response);
    },
};

/* Tenants that choose their flow in the tenant information. */
tenantInfo['pkce.tenants.test'] = Object.assign({}, tenantInfo['a.tenants.test'],
                                                { responseType: 'code' });
tenantInfo['implicit.tenants.test'] = Object.assign(
    {}, tenantInfo['a.tenants.test'], { responseType: 'id_token' });
tenantInfo['badflow.tenants.test'] = Object.assign(
    {}, tenantInfo['a.tenants.test'], { responseType: 'token' });

/* Discovery documents by issuer path segment. */
function discovery(tenant) {
    const signer = providers[tenant];
    const issuer = tenant === 'wrongdisc' ? `${base}/other` : `${base}/${tenant}`;
    return {
        issuer,
        authorization_endpoint: `${base}/${tenant}/authorize`,
        token_endpoint: `${base}/${tenant}/token`,
        jwks_uri: `${base}/${tenant}/jwks`,
        response_types_supported: ['id_token', 'code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported:
            tenant === 'advertised' ? ['ES256'] : [signer.alg],
    };
}

const requestLog = [];

/*
 * Generated tenants: any host gen-<id>.tenants.test, as many as a test or
 * benchmark requests. Each names issuer /a and only its authorization
 * endpoint, so the module reads discovery too, and uses the configured
 * client_id.
 */
const GENERATED_HOST = /^gen-[a-z0-9-]+\.tenants\.test$/;

function generatedTenant() {
    return {
        issuerUrl: `${base}/a`,
        links: [link('authorization_endpoint', '/a/authorize')],
    };
}

/*
 * Overrides of the tenant information by host, set by POST
 * /control/tenant {host, status, cache_control, delay_ms}:
 *   status         HTTP status to return in place of the document (for
 *                  example 404 or 503); 0 or absent serves the document
 *   cache_control  Cache-Control value sent with the document, in place
 *                  of no-store
 *   delay_ms       time to wait before the response
 * A request without host clears every override.
 */
const tenantOverrides = {};

function tenantControl(request) {
    if (request.host === undefined) {
        for (const host of Object.keys(tenantOverrides)) {
            delete tenantOverrides[host];
        }
        return { cleared: true };
    }
    tenantOverrides[request.host] = {
        status: Number(request.status || 0),
        cacheControl: request.cache_control,
        delayMs: Number(request.delay_ms || 0),
    };
    return tenantOverrides[request.host];
}

/* Serves /info/<host> when an override or a generated tenant applies.
 * Returns false when neither does. */
function serveControlledInfo(host, response) {
    const override = tenantOverrides[host];
    const document = GENERATED_HOST.test(host) ? generatedTenant()
        : tenantInfo[host];
    if (override === undefined && !GENERATED_HOST.test(host)) {
        return false;
    }
    const respond = () => {
        if (override && override.status) {
            sendJson(response, override.status,
                     { error: `status ${override.status} set by a test` });
            return;
        }
        if (typeof document !== 'object') {
            sendJson(response, 404, { error: 'tenant not found' });
            return;
        }
        const body = Buffer.from(JSON.stringify(document));
        response.writeHead(200, {
            'Content-Type': 'application/json',
            'Content-Length': body.length,
            'Cache-Control': (override && override.cacheControl)
                || 'no-store',
        });
        response.end(body);
    };
    if (override && override.delayMs > 0) {
        setTimeout(respond, override.delayMs);
    }
    else {
        respond();
    }
    return true;
}
const hanging = new Set();

function hang(response) {
    hanging.add(response);
    const timer = setTimeout(() => {
        hanging.delete(response);
        response.destroy();
    }, HANG_LIMIT_MS);
    response.on('close', () => {
        clearTimeout(timer);
        hanging.delete(response);
    });
}

function send(response, status, body, contentType) {
    const buffer = Buffer.from(body);
    response.writeHead(status, { 'Content-Type': contentType,
                                 'Content-Length': buffer.length,
                                 'Cache-Control': 'no-store' });
    response.end(buffer);
}

function sendJson(response, status, value) {
    send(response, status, JSON.stringify(value), 'application/json');
}

function readBody(request) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        let size = 0;
        request.on('data', (chunk) => {
            size += chunk.length;
            if (size > MAX_BODY) {
                reject(new Error(`request body larger than ${MAX_BODY} bytes`));
                request.destroy();
                return;
            }
            chunks.push(chunk);
        });
        request.on('end', () => resolve(Buffer.concat(chunks)));
        request.on('error', reject);
    });
}

function b64url(data) {
    return Buffer.from(data).toString('base64url');
}

const HASHES = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };

/*
 * Signs input with the key and algorithm the header names. mode selects
 * the hostile variants: "der" writes an ECDSA signature in DER instead of
 * the IEEE P1363 form that JWS requires.
 */
function signInput(input, alg, signer, mode) {
    const match = /^(RS|PS|ES|HS)(256|384|512)$/.exec(alg);
    if (!match) {
        throw new Error(`cannot sign with alg ${alg}: expected RS, PS, ES `
                        + 'or HS with 256, 384 or 512');
    }
    const hash = HASHES[match[2]];
    switch (match[1]) {
    case 'RS':
        return crypto.sign(hash, input, signer.privateKey);
    case 'PS':
        return crypto.sign(hash, input, {
            key: signer.privateKey,
            padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
            saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
        });
    case 'ES':
        return crypto.sign(hash, input, {
            key: signer.privateKey,
            dsaEncoding: mode === 'der' ? 'der' : 'ieee-p1363',
        });
    default:
        /* HMAC keyed with the public key PEM: the key confusion attack. */
        return crypto.createHmac(hash, signer.publicKey.export({
            type: 'spki', format: 'pem' })).update(input).digest();
    }
}

function withoutNulls(object) {
    const result = {};
    for (const [name, value] of Object.entries(object)) {
        if (value !== null) {
            result[name] = value;
        }
    }
    return result;
}

/*
 * Builds a compact JWS from a mint request:
 *   tenant   provider whose key signs (a name in providers)
 *   key      "good" (default), "attacker" (same key type, unpublished),
 *            "none" (alg none, empty signature) or "hs-public" (HMAC
 *            keyed with the provider's public key PEM)
 *   private_key_pem  a PEM private key that signs in place of the key
 *            chosen by "key"; the header defaults stay those of "key"
 *   header   members merged over {alg, typ, kid}, where null removes one
 *   claims   the payload, used as given
 *   embed_jwk  true puts the signing key's public JWK, with the header's
 *            kid, into the header
 *   ec_signature  "der" writes ECDSA signatures in DER form
 *   raw      {header, payload, signature}: base64url segments that
 *            replace the computed ones
 */
function mint(request) {
    const provider = providers[request.tenant || 'a'];
    if (!provider) {
        throw new Error(`unknown tenant ${request.tenant}: expected one `
                        + `of ${Object.keys(providers).join(', ')}`);
    }

    const keyName = request.key || 'good';
    let signer = provider;
    let defaults = { alg: provider.alg, typ: 'JWT', kid: provider.kid };
    if (keyName === 'attacker') {
        signer = attackers[provider.type];
        defaults = { alg: signer.alg, typ: 'JWT', kid: signer.kid };
    }
    else if (keyName === 'none') {
        defaults = { alg: 'none', typ: 'JWT' };
    }
    else if (keyName === 'hs-public') {
        defaults = { alg: 'HS256', typ: 'JWT', kid: provider.kid };
    }
    else if (keyName !== 'good') {
        throw new Error(`unknown key ${keyName}: expected good, attacker, `
                        + 'none or hs-public');
    }

    if (request.private_key_pem !== undefined) {
        signer = { kid: signer.kid,
                   privateKey: crypto.createPrivateKey(request.private_key_pem),
                   publicKey: crypto.createPublicKey(request.private_key_pem) };
    }
    const header = withoutNulls(Object.assign(defaults,
                                              request.header || {}));
    if (request.embed_jwk) {
        header.jwk = publicJwk(signer);
        if (header.kid !== undefined) {
            header.jwk.kid = header.kid;
        }
    }

    const raw = request.raw || {};
    const headerPart = raw.header !== undefined
        ? raw.header : b64url(JSON.stringify(header));
    const payloadPart = raw.payload !== undefined
        ? raw.payload : b64url(JSON.stringify(request.claims || {}));
    const input = Buffer.from(`${headerPart}.${payloadPart}`);

    let signaturePart = '';
    if (raw.signature !== undefined) {
        signaturePart = raw.signature;
    }
    else if (keyName !== 'none') {
        signaturePart = b64url(signInput(input, header.alg, signer,
                                         request.ec_signature));
    }
    return { token: `${headerPart}.${payloadPart}.${signaturePart}`,
             header };
}

/*
 * Authorization codes by value, each issued by POST /control/code for one
 * tenant, client, redirect_uri and S256 code_challenge, and redeemable
 * once. A code that fails any check is spent all the same.
 */
const codes = new Map();
/* Token requests and their outcome, oldest first. */
const tokenLog = [];
/* Secrets of the confidential clients, which must send HTTP Basic
 * credentials. Every other client is public and must send none. */
const clientSecrets = {
    'hub-confidential': 'Zq9 secret:with&colon+plus%25 x',
};
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/*
 * Plays the provider's authorization step and returns {code}. The request
 * names tenant, client_id, redirect_uri, code_challenge, optionally
 * code_challenge_method (default S256), the id_token claims, and
 * token_response to change the token endpoint's response to this code:
 *   status         HTTP status sent with {"error": "server_error"}
 *   body           raw text sent as the 200 response body
 *   omit_id_token  true leaves id_token out of the response
 *   token_type     token_type sent in place of "Bearer"
 */
function issueCode(request) {
    for (const name of ['tenant', 'client_id', 'redirect_uri',
                        'code_challenge', 'claims']) {
        if (request[name] === undefined) {
            throw new Error(`missing ${name}: expected tenant, client_id, `
                            + 'redirect_uri, code_challenge and claims');
        }
    }
    if (!providers[request.tenant]) {
        throw new Error(`unknown tenant ${request.tenant}`);
    }
    const code = crypto.randomBytes(24).toString('base64url');
    codes.set(code, {
        tenant: request.tenant,
        clientId: request.client_id,
        redirectUri: request.redirect_uri,
        challenge: request.code_challenge,
        method: request.code_challenge_method || 'S256',
        claims: request.claims,
        tokenResponse: request.token_response || {},
        used: false,
    });
    return { code };
}

/* Decodes one application/x-www-form-urlencoded value. */
function formDecode(text) {
    return decodeURIComponent(text.replace(/\+/g, ' '));
}

/* Returns {user, password} from an HTTP Basic Authorization header whose
 * parts are form-encoded (RFC 6749 section 2.3.1), or null without one. */
function basicCredentials(request) {
    const header = request.headers.authorization;
    if (header === undefined) {
        return null;
    }
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8')
        : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) {
        return { invalid: true };
    }
    try {
        return { user: formDecode(decoded.slice(0, colon)),
                 password: formDecode(decoded.slice(colon + 1)) };
    }
    catch (error) {
        return { invalid: true };
    }
}

/* Returns the reason the client of record fails authentication, or null. */
function clientProblem(record, form, basic) {
    const secret = clientSecrets[record.clientId];
    const bodyClient = form.get('client_id');
    if (bodyClient !== null && bodyClient !== record.clientId) {
        return `client_id ${bodyClient} is not the client the code was `
            + `issued to (${record.clientId})`;
    }
    if (secret === undefined) {
        if (basic !== null) {
            return 'a public client sent HTTP Basic credentials';
        }
        return bodyClient === null ? 'client_id missing' : null;
    }
    if (basic === null || basic.invalid) {
        return 'confidential client without valid HTTP Basic credentials';
    }
    if (basic.user !== record.clientId || basic.password !== secret) {
        return 'HTTP Basic credentials do not match the client';
    }
    return null;
}

/* Returns the reason the code_verifier fails the code's challenge, or
 * null (RFC 7636 section 4.6, S256 only). */
function verifierProblem(record, verifier) {
    if (verifier === null) {
        return 'code_verifier missing';
    }
    if (!VERIFIER.test(verifier)) {
        return 'code_verifier is not 43 to 128 unreserved characters';
    }
    if (record.method !== 'S256') {
        return `code_challenge_method ${record.method} is not supported`;
    }
    const computed = crypto.createHash('sha256').update(verifier)
        .digest('base64url');
    return computed === record.challenge ? null
        : 'code_verifier does not match the code_challenge';
}

/* Returns the reason a token request fails, or null. Spends the code. */
function tokenProblem(tenant, form, basic) {
    for (const name of ['grant_type', 'code', 'redirect_uri',
                        'code_verifier', 'client_id']) {
        if (form.getAll(name).length > 1) {
            return `parameter ${name} appears more than once`;
        }
    }
    if (form.get('grant_type') !== 'authorization_code') {
        return 'grant_type is not authorization_code';
    }
    const record = codes.get(form.get('code'));
    if (record === undefined || record.tenant !== tenant) {
        return 'unknown code';
    }
    if (record.used) {
        return 'code already used';
    }
    record.used = true;
    if (form.get('redirect_uri') !== record.redirectUri) {
        return 'redirect_uri differs from the authorization request';
    }
    return clientProblem(record, form, basic)
        || verifierProblem(record, form.get('code_verifier'));
}

/* Sends the token response of a redeemed code, with the changes in the
 * code's token_response. */
function sendTokenResponse(response, tenant, record) {
    const change = record.tokenResponse;
    if (change.status) {
        sendJson(response, change.status, { error: 'server_error' });
        return;
    }
    if (change.body !== undefined) {
        send(response, 200, change.body, 'application/json');
        return;
    }
    const result = {
        access_token: crypto.randomBytes(24).toString('base64url'),
        token_type: change.token_type || 'Bearer',
        expires_in: 300,
    };
    if (!change.omit_id_token) {
        result.id_token = mint({ tenant, claims: record.claims }).token;
    }
    sendJson(response, 200, result);
}

/*
 * Token endpoint (RFC 6749 section 4.1.3 with RFC 7636 section 4.5).
 * Logs each request with its outcome to tokenLog, and rejects a request
 * with 400 invalid_grant, or 401 invalid_client when the client fails
 * authentication.
 */
async function handleToken(tenant, request, response) {
    const form = new URLSearchParams((await readBody(request))
        .toString('utf8'));
    const basic = basicCredentials(request);
    const entry = {
        tenant,
        client_id: form.get('client_id'),
        basic_user: basic && !basic.invalid ? basic.user : null,
        redirect_uri: form.get('redirect_uri'),
        verifier_length: (form.get('code_verifier') || '').length,
    };
    const problem = tokenProblem(tenant, form, basic);
    entry.result = problem === null ? 'issued' : 'rejected';
    entry.reason = problem;
    tokenLog.push(entry);
    if (problem !== null) {
        const client = /client|Basic/.test(problem);
        sendJson(response, client ? 401 : 400, {
            error: client ? 'invalid_client' : 'invalid_grant',
            error_description: problem,
        });
        return;
    }
    sendTokenResponse(response, tenant, codes.get(form.get('code')));
}

async function handleForge(request, response) {
    const url = new URL(request.url, base);
    const path = url.pathname;
    const isControl = path === '/log' || path === '/log/clear'
        || path === '/log/token'
        || path.startsWith('/control/')
        || path === '/mint' || path === '/rotate';
    if (!isControl) {
        requestLog.push({ method: request.method, path: request.url,
                          host: request.headers.host || '',
                          time: Date.now() / 1000 });
    }

    if (request.method === 'GET' && path === '/log') {
        sendJson(response, 200, requestLog);
        return;
    }
    if (request.method === 'GET' && path === '/log/token') {
        sendJson(response, 200, tokenLog);
        return;
    }
    if (request.method === 'POST' && path === '/log/clear') {
        requestLog.length = 0;
        tokenLog.length = 0;
        sendJson(response, 200, { cleared: true });
        return;
    }
    if (request.method === 'POST' && path === '/mint') {
        const body = await readBody(request);
        let result;
        try {
            result = mint(JSON.parse(body.toString('utf8')));
        }
        catch (error) {
            sendJson(response, 400, { error: error.message });
            return;
        }
        sendJson(response, 200, result);
        return;
    }
    if (request.method === 'POST' && path === '/rotate') {
        const body = await readBody(request);
        let result;
        try {
            const rotation = JSON.parse(body.toString('utf8'));
            result = rotate(rotation.tenant, rotation.drop_previous === true);
        }
        catch (error) {
            sendJson(response, 400, { error: error.message });
            return;
        }
        sendJson(response, 200, result);
        return;
    }
    if (request.method === 'POST' && path === '/control/code') {
        const body = await readBody(request);
        let result;
        try {
            result = issueCode(JSON.parse(body.toString('utf8')));
        }
        catch (error) {
            sendJson(response, 400, { error: error.message });
            return;
        }
        sendJson(response, 200, result);
        return;
    }
    const tokenMatch = /^\/([a-z]+)\/token$/.exec(path);
    if (request.method === 'POST' && tokenMatch && providers[tokenMatch[1]]) {
        await handleToken(tokenMatch[1], request, response);
        return;
    }
    if (request.method === 'POST' && path === '/control/tenant') {
        const body = await readBody(request);
        sendJson(response, 200,
                 tenantControl(JSON.parse(body.toString('utf8'))));
        return;
    }
    if (request.method !== 'GET') {
        sendJson(response, 405, { error: 'method not allowed' });
        return;
    }

    let match = /^\/info\/([^/]+)$/.exec(path);
    if (match && serveControlledInfo(decodeURIComponent(match[1]),
                                     response)) {
        return;
    }
    if (match) {
        const info = tenantInfo[decodeURIComponent(match[1])];
        if (info === undefined) {
            sendJson(response, 404, { error: 'tenant not found' });
        }
        else if (typeof info === 'function') {
            info(request, response);
        }
        else {
            sendJson(response, 200, info);
        }
        return;
    }
    match = /^\/([a-z]+)\/(\.well-known\/openid-configuration|jwks)$/
        .exec(path);
    if (match && match[1] === 'attacker' && match[2] === 'jwks') {
        sendJson(response, 200, { keys: attackerJwks() });
        return;
    }
    if (match && providers[match[1]]) {
        if (match[2] === 'jwks') {
            sendJson(response, 200, providerJwks(match[1]));
        }
        else {
            sendJson(response, 200, discovery(match[1]));
        }
        return;
    }
    match = /^\/([a-z]+)\/authorize$/.exec(path);
    if (match && providers[match[1]]) {
        send(response, 200, '<!DOCTYPE html><title>sign in</title>',
             'text/html');
        return;
    }
    sendJson(response, 404, { error: 'not found' });
}

/* Returns the request line and every header as received, in order. */
function handleEcho(request, response) {
    request.resume();
    request.on('end', () => {
        const headers = [];
        for (let i = 0; i < request.rawHeaders.length; i += 2) {
            headers.push([request.rawHeaders[i], request.rawHeaders[i + 1]]);
        }
        if (!request.url.startsWith('/echo/')) {
            sendJson(response, 404, { error: 'not found' });
            return;
        }
        sendJson(response, 200, {
            method: request.method,
            url: request.url,
            httpVersion: request.httpVersion,
            headers,
        });
    });
}

function reportError(response, error) {
    process.stderr.write(`forge: ${error.stack || error}\n`);
    if (!response.headersSent) {
        sendJson(response, 500, { error: 'internal error' });
    }
}

function listen(server, port, address) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, address, () => {
            server.off('error', reject);
            resolve();
        });
    });
}

async function main() {
    const tls = {
        cert: fs.readFileSync(options.cert),
        key: fs.readFileSync(options.key),
    };
    const forgeHandler = (request, response) => {
        handleForge(request, response)
            .catch((error) => reportError(response, error));
    };
    const servers = [];

    const forge4 = https.createServer(tls, forgeHandler);
    await listen(forge4, options.port, '127.0.0.1');
    servers.push(forge4);
    /* libcurl may try ::1 first for a *.localhost name, so listen on both
     * loopback addresses. */
    const forge6 = https.createServer(tls, forgeHandler);
    try {
        await listen(forge6, options.port, '::1');
        servers.push(forge6);
    }
    catch (error) {
        process.stderr.write(`forge: no IPv6 loopback (${error.code})\n`);
    }

    const echo = http.createServer(handleEcho);
    await listen(echo, options.echoPort, '127.0.0.1');
    servers.push(echo);

    if (options.pidFile) {
        fs.writeFileSync(options.pidFile, `${process.pid}\n`);
    }
    process.stdout.write(`forge: listening on ${base} and `
                         + `http://127.0.0.1:${options.echoPort}/echo/\n`);

    const stop = (signal) => {
        process.stdout.write(`forge: stopping on ${signal}\n`);
        for (const response of hanging) {
            response.destroy();
        }
        for (const server of servers) {
            server.close();
            server.closeAllConnections();
        }
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

main().catch((error) => {
    process.stderr.write(`forge: ${error.stack || error}\n`);
    process.exit(1);
});
