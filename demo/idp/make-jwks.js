// Writes a JSON Web Key Set with one new private signing key, for one demo
// OpenID Connect provider.
//
// Usage: node make-jwks.js RS256|ES256 OUTPUT_FILE
//
// The file contains a private key, so it is created with mode 0600, and an
// existing file is never overwritten. The key's "kid" is the RFC 7638
// thumbprint of its public part.

import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const KEY_OPTIONS = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
};

// Members that RFC 7638 hashes, in lexicographic order, for each key type.
const THUMBPRINT_MEMBERS = {
  RSA: ['e', 'kty', 'n'],
  EC: ['crv', 'kty', 'x', 'y'],
};

function thumbprint(jwk) {
  const required = {};
  for (const member of THUMBPRINT_MEMBERS[jwk.kty]) {
    required[member] = jwk[member];
  }
  return createHash('sha256')
    .update(JSON.stringify(required))
    .digest('base64url');
}

function main(argv) {
  const [alg, output] = argv;
  if (!KEY_OPTIONS[alg] || !output) {
    console.error('usage: node make-jwks.js RS256|ES256 OUTPUT_FILE');
    process.exit(2);
  }
  const [type, options] = KEY_OPTIONS[alg];
  const { privateKey } = generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = thumbprint(jwk);
  jwk.alg = alg;
  jwk.use = 'sig';
  writeFileSync(output, `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  console.log(`wrote ${alg} signing key ${jwk.kid} to ${output}`);
}

main(process.argv.slice(2));
