// Follows one channel while the app's backend sends a burst of messages over REST at once.
// Prints {"ready":true} once subscribed, then one JSON line: the indexes messageAdded gave, in
// the order it gave them, and the channel's newest page read afterwards.
// usage: node burst.js <ws-url> <token> <channel unique name> <messages expected>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, joinedState } = require('./common');

const [url, token, name, expected] = process.argv.slice(2);
const seen = { added: [] };
const finish = reporter(seen, 40000);

(async () => {
  const client = await Client.create(token, sdkOptions(url));
  const channel = await client.getChannelByUniqueName(name);
  await joinedState(client, channel);
  const all = new Promise((resolve) => channel.on('messageAdded', (m) => {
    seen.added.push(m.index);
    if (seen.added.length === Number(expected)) resolve();
  }));
  await channel.getMessages(1); // subscribed to its messages before the burst
  console.log(JSON.stringify({ ready: true }));
  await all;
  const page = await channel.getMessages(Number(expected));
  seen.page = page.items.map((m) => m.index);
  seen.bodies = page.items.map((m) => m.body).sort();
  await client.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
