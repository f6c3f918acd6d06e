// Tests for the DEVELOPMENT-ONLY forwardAuth stand-in in deploy/dev-auth.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { claimFromRequest, claimHeader } from '../../deploy/dev-auth/claim.mjs';

test('bearer userid:clientid', (t) => {
  t.deepEqual(claimFromRequest({ authorization: 'Bearer alice:phone' }), {
    userid: 'alice',
    clientid: 'phone',
  });
  t.deepEqual(claimFromRequest({ authorization: 'bearer  bob:web ' }), { userid: 'bob', clientid: 'web' });
});

test('token query of the original uri (EventSource cannot set headers)', (t) => {
  t.deepEqual(claimFromRequest({ forwardedUri: '/subscribe/alice?token=bob:web' }), {
    userid: 'bob',
    clientid: 'web',
  });
  t.deepEqual(claimFromRequest({ authorization: '', forwardedUri: '/lastseen/x?a=1&token=carol:tab' }), {
    userid: 'carol',
    clientid: 'tab',
  });
});

test('url-encoded token is decoded', (t) => {
  t.deepEqual(claimFromRequest({ forwardedUri: '/subscribe/a?token=al%C3%AFce%40x.io%3Aweb%201' }), {
    userid: 'alïce@x.io',
    clientid: 'web 1',
  });
});

test('split at the first colon: clientid may contain colons', (t) => {
  t.deepEqual(claimFromRequest({ authorization: 'Bearer u1:c:2' }), { userid: 'u1', clientid: 'c:2' });
});

test('no colon: userid only, clientid ""', (t) => {
  t.deepEqual(claimFromRequest({ authorization: 'Bearer alice' }), { userid: 'alice', clientid: '' });
  t.deepEqual(claimFromRequest({ forwardedUri: '/ping?token=alice' }), { userid: 'alice', clientid: '' });
});

test('missing or malformed -> null', (t) => {
  t.is(claimFromRequest({}), null);
  t.is(claimFromRequest(), null);
  t.is(claimFromRequest({ forwardedUri: '/subscribe/alice' }), null);
  t.is(claimFromRequest({ forwardedUri: '/subscribe/alice?token=' }), null);
  t.is(claimFromRequest({ authorization: 'Bearer :phone' }), null, 'empty userid');
  t.is(claimFromRequest({ authorization: 'Bearer ' }), null);
  t.is(claimFromRequest({ authorization: 'Basic YWxpY2U6cA==' }), null, 'not bearer');
});

test('a present Authorization header wins; no fallback to the query', (t) => {
  t.deepEqual(claimFromRequest({ authorization: 'Bearer a:1', forwardedUri: '/p?token=b:2' }), {
    userid: 'a',
    clientid: '1',
  });
  t.is(claimFromRequest({ authorization: 'Bearer :1', forwardedUri: '/p?token=b:2' }), null);
});

test('claimHeader is ASCII-only JSON that round-trips', (t) => {
  const claim = { userid: 'alïce\n"x"', clientid: '📱' };
  const h = claimHeader(claim);
  t.regex(h, /^[\x20-\x7e]+$/);
  t.deepEqual(JSON.parse(h), claim);
  t.is(claimHeader({ userid: 'a', clientid: 'b' }), '{"userid":"a","clientid":"b"}');
});

// --- the real server.mjs, on a free port ---------------------------------

const serverPath = fileURLToPath(new URL('../../deploy/dev-auth/server.mjs', import.meta.url));
let child: ChildProcess;
let base = '';

test.before(async () => {
  child = spawn(process.execPath, [serverPath], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  for await (const chunk of child.stdout!) {
    out += chunk;
    const m = /listening on [^\s]+:(\d+)/.exec(out);
    if (m) {
      base = `http://127.0.0.1:${m[1]}`;
      break;
    }
  }
  if (!base) throw new Error(`dev-auth did not start: ${out}`);
  child.stdout!.resume();
});

test.after.always(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});

test('server: bearer -> 200 + X-User-Claim', async (t) => {
  const res = await fetch(`${base}/`, { headers: { authorization: 'Bearer alice:phone' } });
  t.is(res.status, 200);
  t.deepEqual(JSON.parse(res.headers.get('x-user-claim')!), { userid: 'alice', clientid: 'phone' });
});

test('server: token from X-Forwarded-Uri -> 200', async (t) => {
  const res = await fetch(`${base}/`, { headers: { 'x-forwarded-uri': '/subscribe/alice?token=bob%3Aweb' } });
  t.is(res.status, 200);
  t.is(res.headers.get('x-user-claim'), '{"userid":"bob","clientid":"web"}');
});

test('server: nothing -> 401, no claim', async (t) => {
  const res = await fetch(`${base}/`, { headers: { 'x-forwarded-uri': '/subscribe/alice' } });
  t.is(res.status, 401);
  t.is(res.headers.get('x-user-claim'), null);
  await res.arrayBuffer();
});

test('server: SIGTERM exits 0 promptly', async (t) => {
  // Separate instance so the shared one stays up for the other tests.
  const p = spawn(process.execPath, [serverPath], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1' } });
  await once(p.stdout, 'data');
  p.kill('SIGTERM');
  const [code] = (await once(p, 'exit')) as [number | null];
  t.is(code, 0);
});

test('server: GET /user/contact answers the claimed user’s contacts from contacts.json, as backend-core', async (t) => {
  const contactsOf = async (claim?: string) => {
    const res = await fetch(`${base}/user/contact`, { headers: claim ? { 'x-user-claim': claim } : {} });
    return { status: res.status, body: res.status === 200 ? ((await res.json()) as { id: string }[]) : null };
  };
  const bob = await contactsOf('{"userid":"bob","clientid":"web"}');
  t.is(bob.status, 200);
  t.deepEqual(
    bob.body!.map((c) => c.id),
    ['alice'],
  );
  t.deepEqual(Object.keys(bob.body![0]).sort(), ['bio', 'first_name', 'id', 'last_name', 'phone_number', 'profile_pic', 'username']);
  t.deepEqual((await contactsOf('{"userid":"carol","clientid":""}')).body, []);
  t.deepEqual((await contactsOf('{"userid":"nobody","clientid":""}')).body, [], 'an unknown user has no contacts');
  t.is((await contactsOf()).status, 400, 'no claim: 400, as backend-core');
  t.is((await contactsOf('not json')).status, 400);
});
