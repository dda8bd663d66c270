// Follows one user's reachability and prints a JSON line each time it changes (the first line:
// the state when subscribed). Runs until killed or 60 s.
// usage: node watch.js <ws-url> <token> <identity to watch>
const { Client } = require('twilio-chat');
const { sdkOptions } = require('./common');

const [url, token, identity] = process.argv.slice(2);
setTimeout(() => process.exit(2), 60000); // bounded
const options = sdkOptions(url);

(async () => {
  const client = await Client.create(token, options);
  const user = await client.getUser(identity);
  console.log(JSON.stringify({ online: user.online, notifiable: user.notifiable, reasons: [] }));
  client.on('userUpdated', ({ user: u, updateReasons }) => {
    if (u.identity !== identity) return;
    console.log(JSON.stringify({ online: u.online, notifiable: u.notifiable, reasons: updateReasons }));
  });
})().catch((e) => { console.log(JSON.stringify({ error: String((e && e.stack) || e) })); process.exit(1); });
