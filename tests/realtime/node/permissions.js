// Roles at work: a plain member tries what its role does not allow, then what it does, then,
// once the app's backend granted its role more over REST, the same edit again.
// Prints {"step":"grant"} when the backend should grant, then one JSON line of what it saw.
// usage: node permissions.js <ws-url> <alice token> <bob token> <channel unique name>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor, joinedState, refusal } = require('./common');

const [url, aliceToken, bobToken, name] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 40000);
const options = sdkOptions(url);
const within = withinFor(10000);
// What a refused call rejects with: the HTTP status and Twilio's error code.
const added = (channel, body) => new Promise((resolve) => channel.on('messageAdded', (m) => m.body === body && resolve(m)));

(async () => {
  const alice = await Client.create(aliceToken, options);
  const bob = await Client.create(bobToken, options);
  const mine = await alice.createChannel({ uniqueName: name, friendlyName: 'Moderated' });
  await mine.join(); // its creator: channel admin
  await within(joinedState(alice, mine), 'alice joined');
  const theirs = await bob.getChannelByUniqueName(name);
  await theirs.join(); // channel user
  await within(joinedState(bob, theirs), 'bob joined');
  await theirs.getMembers(); // bob follows the channel's streams from here on

  const fromAlice = within(added(theirs, 'from alice'), 'alice message');
  await mine.sendMessage('from alice');
  const aliceMessage = await fromAlice;
  await theirs.sendMessage('from bob');

  // Not bob's to do: someone else's message, the channel's name, the channel itself.
  seen.editOthers = await refusal(aliceMessage.updateBody('hacked'));
  seen.removeOthers = await refusal(aliceMessage.remove());
  seen.rename = await refusal(theirs.updateFriendlyName('Taken over'));
  seen.destroy = await refusal(theirs.delete());

  // Bob's own message is his to edit: alice sees it.
  const edited = within(new Promise((resolve) => mine.on('messageUpdated', (e) => resolve(e.message.body))), 'own edit');
  const [, own] = (await theirs.getMessages()).items;
  seen.editOwn = await refusal(own.updateBody('bob edited'));
  seen.editedSeenByAlice = await edited;

  // The backend grants channel users editAnyMessage, then says so with a message.
  const granted = within(added(theirs, 'granted'), 'granted', 20000);
  console.log(JSON.stringify({ step: 'grant' }));
  await granted;
  seen.editOthersAfterGrant = await refusal(aliceMessage.updateBody('moderated'));
  seen.destroyAfterGrant = await refusal(theirs.delete()); // still not granted
  await alice.shutdown();
  await bob.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
