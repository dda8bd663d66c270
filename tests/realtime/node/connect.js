// Connects the unmodified twilio-chat SDK (NODE_PATH selects the version) as an app does, and
// prints one JSON line of what it saw. usage: node connect.js <ws-url> <token> [expect-refusal]
const { Client } = require('twilio-chat');
const { sdkOptions, reporter } = require('./common');

const [url, token, mode] = process.argv.slice(2);
const seen = { states: [], events: [] };
const finish = reporter(seen, 20000);

(async () => {
  const options = sdkOptions(url);
  let client;
  try {
    client = await Client.create(token, options); // as apps do: resolves once initialized
  } catch (e) {
    seen.refused = String(e && e.message || e);
    finish(mode === 'refused' ? 0 : 1);
    return;
  }
  client.on('connectionStateChanged', (s) => seen.states.push(s));
  seen.state = client.connectionState;
  if (mode === 'refused') { // 6.x resolves in the terminal `denied` state instead of failing
    if (seen.state === 'denied') seen.refused = 'denied';
    finish(seen.state === 'denied' ? 0 : 1);
    return;
  }
  seen.identity = client.user.identity;
  seen.reachability = client.reachabilityEnabled;
  seen.subscribed = (await client.getSubscribedChannels()).items.length;
  seen.userChannels = (await client.getUserChannelDescriptors()).items.length;
  seen.publicChannels = (await client.getPublicChannelDescriptors()).items.map((c) => c.uniqueName);
  await client.shutdown();
  finish(0);
})().catch((e) => { seen.error = String(e && e.stack || e); finish(1); });
