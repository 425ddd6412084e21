// A real OpenID Provider for the portal's sign-in test: panva's
// oidc-provider (OpenID Certified), installed by scripts/browser.sh into
// .tools/. Its own development login and consent pages stand in for the
// vendor's; the accounts and the one client come from the environment:
//
//   OIDC_PORT      the port on 127.0.0.1 it listens on (the issuer is
//                  http://127.0.0.1:OIDC_PORT)
//   OIDC_CLIENT    {"client_id", "client_secret", "redirect_uris": [...]}
//   OIDC_ACCOUNTS  {"<login>": {claims}}: who may sign in, and their claims
//                  (sub is the login)
//
// Prints "listening" once it answers.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '.tools', 'package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));

const port = Number(process.env.OIDC_PORT);
const client = JSON.parse(process.env.OIDC_CLIENT);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS);

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // PKCE on every authorization request, as OAuth 2.1 asks.
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'seatflow'],
  claims: {
    openid: ['sub'],
    email: ['email'],
    seatflow: ['org', 'role', 'teams', 'org_name'],
  },
  // The portal reads who someone is from the ID token, as most providers
  // configured for it put custom claims there.
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => accounts[id] && {
    accountId: id,
    claims: async () => ({ sub: id, ...accounts[id] }),
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['seatflow-test-only-cookie-key'] },
});
provider.listen(port, '127.0.0.1', () => console.log('listening'));
