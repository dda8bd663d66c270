// Connects as a user the app's backend then deletes over REST. The SDK must leave each of the
// user's channels (channelLeft) and go on running: the user's maps are removed after, which
// its Sync client takes as an unsubscription. Prints {"ready": [channels]} once initialized,
// {"step": "subscribed"} once a change of its membership made over REST reached it through
// its channel list (so the list's subscription is live), then one JSON line of what it saw.
// usage: node gone.js <ws-url> <token>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor } = require('./common');

const [url, token] = process.argv.slice(2);
const seen = { left: [], errors: [] };
const finish = reporter(seen, 25000);
const within = withinFor(15000);
process.on('unhandledRejection', (e) => seen.errors.push(String((e && e.stack) || e)));

(async () => {
  const client = await Client.create(token, sdkOptions(url));
  client.on('error', (e) => seen.errors.push(String(e)));
  const channels = (await client.getSubscribedChannels()).items;
  const allLeft = new Promise((resolve) => client.on('channelLeft', (channel) => {
    seen.left.push(channel.uniqueName);
    if (seen.left.length === channels.length) resolve();
  }));
  const read = new Promise((resolve) => client.on('channelUpdated', (e) => {
    if (e.updateReasons.includes('lastConsumedMessageIndex')) resolve();
  }));
  console.log(JSON.stringify({ ready: channels.map((c) => c.uniqueName).sort() }));
  await within(read, 'channelUpdated');
  console.log(JSON.stringify({ step: 'subscribed' }));
  await within(allLeft, 'channelLeft for every channel');
  seen.left.sort();
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the maps' removal, and any error it raised
  seen.state = client.connectionState;
  await client.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
