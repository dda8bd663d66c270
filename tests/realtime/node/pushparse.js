// A push from chinwag's gateway, as the app's gateway relays it to FCM and APNs, read by the
// SDK on the device: Client.parsePushNotification, and client.handlePushNotification (which
// emits `pushNotification`). Neither reaches the server; the test checks that chinwag's payload
// carries what the SDK reads. Prints one JSON line.
// usage: node pushparse.js <ws-url> <token> <gateway payload as JSON>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter } = require('./common');

const [url, token, payloadJson] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 20000);
const options = sdkOptions(url);
const fields = (p) => ({ type: p.type, title: p.title, body: p.body, sound: p.sound, badge: p.badge, data: p.data });

(async () => {
  const push = JSON.parse(payloadJson);
  const chat = { channel_sid: push.channel_sid, message_sid: push.message_sid };
  // FCM data messages carry strings only
  const fcm = { data: { ...chat, message_index: String(push.message_index),
    twi_message_type: push.type, twi_body: push.text, ...(push.sound ? { twi_sound: push.sound } : {}) } };
  const apn = { ...chat, message_index: push.message_index, twi_message_type: push.type,
    aps: { alert: push.text, ...(push.sound ? { sound: push.sound } : {}), ...(push.badge ? { badge: push.badge } : {}) } };
  seen.fcm = fields(Client.parsePushNotification(fcm));
  seen.apn = fields(Client.parsePushNotification(apn));
  const client = await Client.create(token, options);
  const emitted = new Promise((resolve) => client.once('pushNotification', resolve));
  await client.handlePushNotification(fcm);
  seen.handled = fields(await emitted);
  await client.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
