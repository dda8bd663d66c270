// Push registration as an app on a device does it, paced by the test through the channel: each
// message the test posts over REST with body "next" moves the script one step on.
// usage: node push.js <ws-url> <token> <channel sid> <fcm|apn> <device token>
// Prints a JSON line per step: {"step":"registered"}, {"step":"unregistered"}, then the result.
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor } = require('./common');

const [url, token, channelSid, channelType, device] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 50000);
const options = sdkOptions(url);
const within = withinFor(20000);

(async () => {
  const client = await Client.create(token, options);
  const channel = await client.getChannelBySid(channelSid);
  await channel.getMessages(1); // the messages list is followed from here on
  const steps = [];
  let wake = null;
  channel.on('messageAdded', (m) => {
    if (m.body !== 'next') return;
    if (wake) { const w = wake; wake = null; w(); } else steps.push(1);
  });
  const next = (what) => within(new Promise((resolve) => {
    if (steps.length) { steps.pop(); resolve(); } else wake = resolve;
  }), what);

  await client.setPushRegistrationId(channelType, device); // 5.x registers in the background
  console.log(JSON.stringify({ step: 'registered' }));
  await next('go ahead to unregister');
  await client.unsetPushRegistrationId(channelType);
  console.log(JSON.stringify({ step: 'unregistered' }));
  await next('go ahead to finish');
  await client.shutdown();
  seen.done = true;
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
