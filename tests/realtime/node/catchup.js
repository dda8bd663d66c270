// Stays connected while the server is down for longer than the messages list's retained log;
// after reconnecting it must still see the newest message added, the edit and the removal.
// Prints {"ready":true}, then what arrived.
// usage: node catchup.js <ws-url> <token> <channel unique name> <newest body> <removed index>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter } = require('./common');

const [url, token, name, newest, removedIndex] = process.argv.slice(2);
const seen = { added: [], updated: [], removed: [] };
const finish = reporter(seen, 110000);
const options = sdkOptions(url);
const done = () => seen.added.some((m) => m.body === newest)
  && seen.updated.length > 0 && seen.removed.includes(Number(removedIndex));

(async () => {
  const client = await Client.create(token, options);
  const channel = await client.getChannelByUniqueName(name);
  const check = () => { if (done()) finish(0); };
  channel.on('messageAdded', (m) => { seen.added.push({ index: m.index, body: m.body }); check(); });
  channel.on('messageUpdated', (e) => { seen.updated.push({ index: e.message.index, body: e.message.body }); check(); });
  channel.on('messageRemoved', (m) => { seen.removed.push(m.index); check(); });
  seen.before = (await channel.getMessages()).items.map((m) => m.body); // followed from here
  console.log(JSON.stringify({ ready: true }));
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
