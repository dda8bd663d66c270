// Stays connected while the server is killed and restarted; prints {"ready":true}, then what
// arrived. usage: node reconnect.js <ws-url> <token> <channel unique name> <messages expected>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter } = require('./common');

const [url, token, name, expected] = process.argv.slice(2);
const seen = { states: [], bodies: [] };
const finish = reporter(seen, 45000);
const options = sdkOptions(url);

(async () => {
  const client = await Client.create(token, options);
  client.on('connectionStateChanged', (s) => seen.states.push(s));
  const channel = await client.getChannelByUniqueName(name);
  channel.on('messageAdded', (m) => {
    seen.bodies.push(m.body);
    if (seen.bodies.length >= Number(expected)) finish(0);
  });
  await channel.getMessages(); // the messages list is followed from here
  console.log(JSON.stringify({ ready: true }));
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
