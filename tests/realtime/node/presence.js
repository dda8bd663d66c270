// Reachability as another user sees it: alice follows bob while bob opens two tabs (two SDK
// clients), closes one, then the other. Prints a JSON line at each step, then what alice saw.
// usage: node presence.js <ws-url> <alice token> <bob token> <bob's identity>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor } = require('./common');

const [url, aliceToken, bobToken, bob] = process.argv.slice(2);
const seen = { updates: [] };
const finish = reporter(seen, 40000);
const options = sdkOptions(url);
const step = (name, extra) => console.log(JSON.stringify({ step: name, ...extra }));
const within = withinFor(15000);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

(async () => {
  const alice = await Client.create(aliceToken, options);
  seen.reachabilityEnabled = alice.reachabilityEnabled;
  const user = await alice.getUser(bob); // subscribes alice to bob's user info
  seen.initial = { online: user.online, notifiable: user.notifiable };
  let waiter = null;
  alice.on('userUpdated', ({ user: u, updateReasons }) => {
    if (u.identity !== bob) return;
    seen.updates.push({ reasons: updateReasons, online: u.online, notifiable: u.notifiable });
    if (waiter && waiter.test(u)) waiter.resolve();
  });
  const until = (test, what) => within(new Promise((resolve) => {
    if (test(user)) resolve(); else waiter = { test, resolve };
  }), what);

  const tab1 = await Client.create(bobToken, options);
  await until((u) => u.online === true, 'online');
  const tab2 = await Client.create(bobToken, options);
  await pause(500); // a second tab changes nothing: no update may follow
  step('two tabs', { online: user.online, updates: seen.updates.length });
  await tab1.shutdown();
  await pause(1000); // still one tab open
  step('one tab', { online: user.online, updates: seen.updates.length });
  await tab2.shutdown();
  await until((u) => u.online === false, 'offline');
  const descriptor = await alice.getUserDescriptor(bob);
  seen.descriptor = { online: descriptor.online, notifiable: descriptor.notifiable };
  await alice.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
