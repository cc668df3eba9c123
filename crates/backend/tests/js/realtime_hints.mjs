// The official client against the local stack's Realtime: supabase-js (vsn 2.0.0, its
// default) signs up two musicians, subscribes to its own private channel, and must get
// one change hint for its own write and none for the other musician's; joining the other
// musician's channel must be refused. Prints what it saw as JSON; exits 1 on a failure.
// Usage: node realtime_hints.mjs <api url> <anon key>
import { randomUUID } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';
import WebSocket from 'ws';

const [url, key] = process.argv.slice(2);
// Node 20 has no WebSocket of its own: hand supabase-js the `ws` package.
const options = { realtime: { transport: WebSocket }, auth: { persistSession: false, autoRefreshToken: false } };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function musician(name) {
  const client = createClient(url, key, options);
  const email = `${name}-${randomUUID()}@supabase-js.example.org`;
  const { data, error } = await client.auth.signUp({ email, password: 'secret-password' });
  if (error) throw new Error(`sign-up ${name}: ${error.message}`);
  await client.realtime.setAuth(data.session.access_token);
  return { client, id: data.user.id };
}

function subscribe(channel) {
  return new Promise((resolve) => {
    channel.subscribe((status, error) => {
      if (status !== 'SUBSCRIBED' && status !== 'CHANNEL_ERROR' && status !== 'TIMED_OUT') return;
      resolve({ status, error: error ? String(error.message ?? error) : null });
    });
  });
}

const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

const me = await musician('me');
const other = await musician('other');
const hints = [];
const mine = me.client
  .channel(`user:${me.id}`, { config: { private: true } })
  .on('broadcast', { event: 'change' }, (message) => hints.push(message.payload));
const joined = await subscribe(mine);
check(joined.status === 'SUBSCRIBED', `joining my own channel: ${JSON.stringify(joined)}`);

const theirs = await other.client.from('tune').insert({ id: randomUUID(), title: 'Not mine' });
check(!theirs.error, `the other musician's insert: ${theirs.error?.message}`);
const written = await me.client.from('tune').insert({ id: randomUUID(), title: 'Mine' }).select('change_number');
check(!written.error, `my insert: ${written.error?.message}`);
for (let waited = 0; hints.length === 0 && waited < 5000; waited += 50) await sleep(50);
await sleep(500);
const number = written.data?.[0]?.change_number;
check(hints.length === 1, `one hint, for my write only: got ${JSON.stringify(hints)}`);
check(hints[0]?.change_number === number, `the hint carries my write's change number ${number}`);

const foreign = await subscribe(me.client.channel(`user:${other.id}`, { config: { private: true } }));
check(
  foreign.status === 'CHANNEL_ERROR' && /permissions to read from this Channel topic/.test(foreign.error ?? ''),
  `joining someone else's channel is refused: ${JSON.stringify(foreign)}`,
);

console.log(JSON.stringify({ joined, hints, change_number: number, foreign, failures }));
await me.client.removeAllChannels();
await other.client.removeAllChannels();
process.exit(failures.length === 0 ? 0 : 1);
