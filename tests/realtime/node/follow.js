// Connects as an app does, reads history, then follows what the app's backend does over REST.
// Prints {"ready":true} once initialized, a {"step": ...} line before each change it waits
// for, then one JSON line of what it saw.
// usage: node follow.js <ws-url> <token> <channel with history>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter } = require('./common');

const [url, token, historyName] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 25000);
const options = sdkOptions(url);

(async () => {
  const client = await Client.create(token, options);
  const joined = new Promise((resolve) => client.on('channelJoined', resolve));
  const subscribed = await client.getSubscribedChannels();
  seen.subscribed = subscribed.items.map((c) => c.uniqueName).sort();
  const history = subscribed.items.find((c) => c.uniqueName === historyName);
  const page = await history.getMessages(2); // the newest two, then the page before them
  seen.newest = page.items.map((m) => `${m.index}:${m.author}:${m.body}`);
  seen.older = page.hasPrevPage ? (await page.prevPage()).items.map((m) => m.index) : [];
  seen.members = (await history.getMembers()).map((m) => m.identity).sort();
  console.log(JSON.stringify({ ready: true }));

  let channel = await joined; // added over REST by the app's backend
  while (channel.uniqueName === historyName) channel = await new Promise((r) => client.once('channelJoined', r));
  seen.joined = channel.uniqueName;
  const added = await new Promise((resolve) => channel.on('messageAdded', resolve));
  seen.added = { index: added.index, author: added.author, body: added.body, attributes: added.attributes };
  const updated = new Promise((resolve) => channel.on('updated', (e) => e.updateReasons.includes('friendlyName') && resolve()));
  console.log(JSON.stringify({ step: 'rename' }));
  await updated;
  seen.renamed = channel.friendlyName;
  const left = new Promise((resolve) => history.on('memberLeft', resolve));
  console.log(JSON.stringify({ step: 'delete' }));
  seen.left = (await left).identity; // its user deleted over REST
  seen.membersAfter = (await history.getMembers()).map((m) => m.identity).sort();
  await client.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
