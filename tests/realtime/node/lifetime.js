// A token's lifetime as the SDK lives it. usage: node lifetime.js <ws-url> <short token> <mode> [new token]
// mode "expire": wait for tokenAboutToExpire then tokenExpired.
// mode "renew": on tokenAboutToExpire, updateToken(new token); still connected and served.
// mode "swap": updateToken(a token of another identity) must fail.
const { Client } = require('twilio-chat');
const { sdkOptions, reporter } = require('./common');

const [url, token, mode, next] = process.argv.slice(2);
const seen = { events: [] };
const finish = reporter(seen, 30000);
const options = sdkOptions(url);

(async () => {
  const client = await Client.create(token, options);
  client.on('tokenExpired', () => { seen.events.push('tokenExpired'); if (mode === 'expire') finish(0); });
  const warned = new Promise((resolve) => client.on('tokenAboutToExpire', () => { seen.events.push('tokenAboutToExpire'); resolve(); }));
  if (mode === 'swap') {
    try { await client.updateToken(next); seen.swapped = true; } catch (e) { seen.swapped = false; }
    finish(0);
    return;
  }
  await warned;
  if (mode === 'renew') {
    await client.updateToken(next);
    await new Promise((r) => setTimeout(r, 500));
    seen.state = client.connectionState;
    seen.channels = (await client.getPublicChannelDescriptors()).items.length;
    await client.shutdown();
    finish(0);
  }
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
