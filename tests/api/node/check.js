// Drives the official Node client against chinwag; prints what it saw as JSON (tests/api/test_node_client.py).
const twilio = require("twilio");
const [base, sid, token] = process.argv.slice(2);
(async () => {
  const client = twilio(sid, token);
  client.chat.baseUrl = base;
  client.ipMessaging.baseUrl = base;
  const v1 = client.chat.v1;
  const s = await v1.services.create({ friendlyName: "node svc" });
  await v1.services(s.sid).update({
    "notifications.newMessage.enabled": true,
    "notifications.newMessage.template": "New: ${MESSAGE}",
    webhookFilters: ["onMessageSend", "onChannelDestroyed"],
    "limits.channelMembers": 100,
  });
  const ch = await v1.services(s.sid).channels.create({ friendlyName: "general chat", uniqueName: "general" });
  await v1.services(s.sid).channels(ch.sid).members.create({ identity: "alice" });
  for (let i = 0; i < 5; i++) await v1.services(s.sid).channels(ch.sid).messages.create({ body: `hi ${i}`, from: "alice" });
  const msgs = await v1.services(s.sid).channels(ch.sid).messages.list({ pageSize: 2 });
  const v2msg = await client.chat.v2.services(s.sid).channels("general").messages.create({ body: "v2", xTwilioWebhookEnabled: "true" });
  const ip = await client.ipMessaging.v1.services(s.sid).fetch();
  let notFound;
  try { await v1.services("IS" + "0".repeat(32)).fetch(); } catch (e) { notFound = [e.status, e.code, e.moreInfo]; }
  const fetched = await v1.services(s.sid).fetch();
  console.log(JSON.stringify({
    friendly: ch.friendlyName, messages: msgs.map(m => m.index), from: msgs[0].from, v2: v2msg.index,
    ip: ip.sid === s.sid, notFound, template: fetched.notifications.new_message.template,
    filters: fetched.webhookFilters, date: fetched.dateCreated instanceof Date,
  }));
  await v1.services(s.sid).remove();
})().catch((e) => { console.error(e); process.exit(1); });
