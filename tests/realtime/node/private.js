// Private channels and invites: a stranger cannot see one; an invitee is told (channelInvited)
// and joins, or declines; leaving a private channel removes it (channelRemoved), leaving a
// public one does not (channelLeft only).
// Prints {"step":"check", ...} when REST should look, and goes on once the backend posts
// "checked" in the channel; then one JSON line of what the users saw.
// usage: node private.js <ws-url> <alice token> <bob token> <carol token> <bob> <carol> <private name> <public name>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor, joinedState, refusal } = require('./common');

const [url, aliceToken, bobToken, carolToken, bobId, carolId, privateName, publicName] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 50000);
const options = sdkOptions(url);
const within = withinFor(10000);
// The events a client emits about one channel, in order.
const follow = (client, sid) => {
  const events = [];
  for (const name of ['channelInvited', 'channelJoined', 'channelLeft', 'channelRemoved']) {
    client.on(name, (c) => { if (c.sid === sid) events.push(name); });
  }
  return events;
};
const once = (client, event, sid, what) => within(new Promise((resolve) => {
  const handler = (c) => { if (c.sid === sid) { client.removeListener(event, handler); resolve(c); } };
  client.on(event, handler);
}), what);

(async () => {
  const alice = await Client.create(aliceToken, options);
  const bob = await Client.create(bobToken, options);
  const carol = await Client.create(carolToken, options);
  const secret = await alice.createChannel({ uniqueName: privateName, friendlyName: 'Secret', isPrivate: true });
  await secret.join();
  await within(joinedState(alice, secret), 'alice joined');
  await secret.getMembers(); // alice follows the channel's streams from here on

  seen.at = 'stranger';
  // A stranger sees nothing of it: not by name, not by SID, not in the public list.
  seen.strangerByName = await refusal(carol.getChannelByUniqueName(privateName));
  seen.strangerBySid = await refusal(carol.getChannelBySid(secret.sid));
  const listed = await carol.getPublicChannelDescriptors();
  seen.strangerListed = listed.items.some((d) => d.sid === secret.sid);

  seen.at = 'invite bob';
  // Bob is invited, is told, and joins.
  const bobEvents = follow(bob, secret.sid);
  const invited = once(bob, 'channelInvited', secret.sid, 'bob invited');
  await secret.invite(bobId);
  const bobsView = await invited;
  seen.invitedStatus = bobsView.status;
  seen.invitedName = bobsView.friendlyName;
  const checked = within(new Promise((resolve) => secret.on('messageAdded', (m) => m.body === 'checked' && resolve())), 'checked', 20000);
  console.log(JSON.stringify({ step: 'check', invited: bobId }));
  await checked;
  seen.at = 'bob joins';
  const joined = once(bob, 'channelJoined', secret.sid, 'bob joined');
  await bobsView.join();
  await joined;
  seen.joinedStatus = bobsView.status;
  seen.bobMembersSeen = (await bobsView.getMembers()).map((m) => m.identity).sort();

  seen.at = 'invite carol';
  // Carol is invited and declines.
  const carolEvents = follow(carol, secret.sid);
  const carolInvited = once(carol, 'channelInvited', secret.sid, 'carol invited');
  await secret.invite(carolId);
  const carolsView = await carolInvited;
  const carolGone = once(carol, 'channelRemoved', secret.sid, 'carol declined');
  await carolsView.decline();
  await carolGone;
  seen.carolEvents = carolEvents;

  seen.at = 'bob leaves';
  // Bob leaves the private channel: it is removed from his list.
  const bobGone = once(bob, 'channelRemoved', secret.sid, 'bob left');
  await bobsView.leave();
  await bobGone;
  seen.bobPrivateEvents = bobEvents;

  seen.at = 'public';
  // A public channel: bob joins, alice (its creator, channel admin) removes him: channelLeft.
  const open = await alice.createChannel({ uniqueName: publicName, friendlyName: 'Open' });
  await open.join();
  await within(joinedState(alice, open), 'alice joined the public one');
  const bobsOpen = await bob.getChannelByUniqueName(publicName);
  const publicEvents = follow(bob, open.sid);
  await bobsOpen.join();
  await within(joinedState(bob, bobsOpen), 'bob joined the public one');
  const left = once(bob, 'channelLeft', open.sid, 'bob removed');
  await open.removeMember(bobId);
  await left;
  // (a channelRemoved comes from the same change, in the same handler: it would be here)
  seen.bobPublicEvents = publicEvents;
  seen.publicStillKnown = (await bob.getChannelBySid(open.sid)).sid === open.sid;
  await alice.shutdown();
  await bob.shutdown();
  await carol.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
