// A real OpenID Connect provider for the tests (the npm package oidc-provider, OpenID
// Certified), shaped like Microsoft Entra ID: the issuer is http://127.0.0.1:PORT/<tenant>/v2.0,
// and /common/v2.0/.well-known/openid-configuration is the multi-tenant metadata whose issuer
// holds the "{tenantid}" placeholder.
//
// No login form: the test says who signs in next (POST /_test/next-sign-in with the claims,
// amr and acr) and the interaction page signs that person in and grants consent at once.
// POST /_test/clock {"seconds": -3600} runs the token endpoint's clock that far off (an expired
// ID token). Clients register with standard dynamic registration (POST <issuer>/reg).
//
// Prints one JSON line {"port", "issuer", "tenant"} on stdout when it is listening.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const TENANT = process.env.OIDC_TEST_TENANT || '72f988bf-86f1-41af-91ab-2d7cd011db47';
const accounts = new Map(); // sub -> claims, as the test chose them
let nextSignIn = null;
let clockSkewSeconds = 0;

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const origin = `http://127.0.0.1:${port}`;
const prefix = `/${TENANT}/v2.0`;
const issuer = `${origin}${prefix}`;

const provider = new Provider(issuer, {
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() { return { sub, ...(accounts.get(sub) || {}) }; },
    };
  },
  // Entra's claims: tid (tenant), oid (object id), xms_edov (email domain verified by the tenant)
  // and acrs (authentication contexts), beside the standard ones. acr, amr and auth_time go in
  // every ID token (oidc-provider otherwise sends them only when the client asks).
  claims: {
    openid: ['sub', 'tid', 'oid', 'xms_edov', 'acrs', 'acr', 'amr', 'auth_time'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    acr: null,
    amr: null,
    auth_time: null,
    iss: null,
    sid: null,
  },
  conformIdTokenClaims: false, // the email claims go in the ID token, as Entra puts them
  acrValues: ['urn:test:loa:password', 'urn:test:loa:mfa'],
  pkce: { required: () => true },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  ttl: {
    AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Grant: 3600,
    Session: 3600,
  },
});
provider.proxy = false;

const providerCallback = provider.callback();

function json(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

async function signInNext(req, res) {
  // The test's chosen person signs in, with consent to everything the client asked for.
  const { params } = await provider.interactionDetails(req, res);
  const chosen = nextSignIn || { sub: 'default-user', email: 'default@nhs.net', email_verified: true };
  nextSignIn = null;
  const { amr, acr, ...claims } = chosen;
  const sub = claims.sub;
  accounts.set(sub, { tid: TENANT, ...claims });
  const grant = new provider.Grant({ accountId: sub, clientId: params.client_id });
  grant.addOIDCScope(params.scope);
  const login = { accountId: sub, remember: false };
  if (amr) login.amr = amr;
  if (acr) login.acr = acr;
  await provider.interactionFinished(
    req, res, { login, consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: false },
  );
}

async function multiTenantMetadata(res) {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  const metadata = await response.json();
  json(res, 200, { ...metadata, issuer: `${origin}/{tenantid}/v2.0` });
}

const realNow = Date.now;

server.on('request', async (req, res) => {
  try {
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/_test/next-sign-in') {
      nextSignIn = await readJson(req);
      return json(res, 200, { ok: true });
    }
    if (req.method === 'POST' && path === '/_test/clock') {
      clockSkewSeconds = Number((await readJson(req)).seconds || 0);
      return json(res, 200, { ok: true });
    }
    if (path === '/common/v2.0/.well-known/openid-configuration') {
      return await multiTenantMetadata(res);
    }
    if (!path.startsWith(prefix)) return json(res, 404, { error: 'not_found' });
    if (req.method === 'GET' && path.startsWith(`${prefix}/interaction/`)) {
      return await signInNext(req, res);
    }
    // Mounted under the tenant's path, as Entra's endpoints are.
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    if (path === `${prefix}/token` && clockSkewSeconds) {
      // Only the token endpoint (which issues the ID token) runs on the skewed clock.
      const skew = clockSkewSeconds * 1000;
      Date.now = () => realNow() + skew;
      res.on('finish', () => { Date.now = realNow; });
    }
    return providerCallback(req, res);
  } catch (error) {
    Date.now = realNow;
    process.stderr.write(`${error.stack}\n`);
    if (!res.headersSent) json(res, 500, { error: String(error) });
    return undefined;
  }
});

process.stdout.write(`${JSON.stringify({ port, issuer, tenant: TENANT })}\n`);
process.on('SIGTERM', () => { server.close(); process.exit(0); });
