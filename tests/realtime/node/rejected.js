// A client's message refused by the service's pre-event webhook: the SDK call fails with the
// error and nothing is added; the next one (accepted) goes through.
// usage: node rejected.js <ws-url> <token> <channel unique name>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter } = require('./common');

const [url, token, name] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 40000);
const options = sdkOptions(url);

(async () => {
  const client = await Client.create(token, options);
  const channel = await client.createChannel({ uniqueName: name });
  await channel.join();
  await channel.getMessages(); // follows the channel's messages
  let added = 0;
  channel.on('messageAdded', () => { added += 1; });
  try {
    await channel.sendMessage('spam');
    seen.refused = null;
  } catch (e) {
    seen.refused = { status: e.status, body: e.body };
  }
  seen.afterRefusal = (await channel.getMessages()).items.map((m) => m.body);
  const arrived = new Promise((resolve) => channel.once('messageAdded', (m) => resolve(m.body)));
  seen.acceptedIndex = await channel.sendMessage('fine');
  seen.arrived = await arrived;
  seen.added = added;
  await client.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
