// Edits and deletions through the SDK, each seen live by the other user: message body and
// attributes, message removal, channel friendly name, unique name and attributes, member
// attributes, user friendly name and attributes (also one made over REST), notification level,
// the channel's user descriptors, and deleting the channel.
// Prints {"step":"rest user"} when the test should rename alice over REST, then what was seen.
// usage: node edits.js <ws-url> <alice token> <bob token> <channel unique name>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor, next, joinedState } = require('./common');

const [url, aliceToken, bobToken, name] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 50000);
const options = sdkOptions(url);
const within = withinFor(10000);
const because = (reason) => (e) => e.updateReasons.includes(reason);

(async () => {
  const alice = await Client.create(aliceToken, options);
  const bob = await Client.create(bobToken, options);
  const mine = await alice.createChannel({ uniqueName: name, friendlyName: 'One' });
  await mine.join();
  await within(joinedState(alice, mine), 'alice joined');
  const theirs = await bob.getChannelByUniqueName(name);
  await theirs.join();
  await within(joinedState(bob, theirs), 'bob joined');

  // Messages (bob's channel follows its streams once it has read them)
  await theirs.getMessages();
  await mine.getMessages();
  const added = next(theirs, 'messageAdded');
  await mine.sendMessage('first', { v: 1 });
  await added;
  const [message] = (await mine.getMessages()).items;
  let updated = next(theirs, 'messageUpdated', because('body'));
  await message.updateBody('edited');
  seen.messageBody = (await updated).message.body;
  updated = next(theirs, 'messageUpdated', because('attributes'));
  await message.updateAttributes({ v: 2 });
  seen.messageAttributes = (await updated).message.attributes;

  // The channel, seen by bob on the channel and on the client
  let changed = next(theirs, 'updated', because('friendlyName'));
  const onClient = next(bob, 'channelUpdated', (e) => e.channel.sid === theirs.sid && because('friendlyName')(e));
  await mine.updateFriendlyName('Two');
  seen.friendlyName = (await changed).channel.friendlyName;
  seen.clientChannelUpdated = (await onClient).channel.friendlyName;
  changed = next(theirs, 'updated', because('uniqueName'));
  await mine.updateUniqueName(name + '-renamed');
  seen.uniqueName = (await changed).channel.uniqueName;
  changed = next(theirs, 'updated', because('attributes'));
  await mine.updateAttributes({ topic: 'edits' });
  seen.channelAttributes = (await changed).channel.attributes;

  // A member's attributes, seen by the other member
  const bobMember = await theirs.getMemberByIdentity(bob.user.identity);
  const memberChanged = next(mine, 'memberUpdated', because('attributes'));
  await bobMember.updateAttributes({ seat: 7 });
  const member = (await memberChanged).member;
  seen.memberAttributes = { identity: member.identity, attributes: member.attributes };

  // A user's friendly name and attributes, seen by another user following them
  const aliceSeen = await bob.getUser(alice.user.identity);
  let userChanged = next(bob, 'userUpdated', (e) => e.user === aliceSeen && because('friendlyName')(e));
  await alice.user.updateFriendlyName('Alice A');
  seen.userFriendlyName = (await userChanged).user.friendlyName;
  userChanged = next(bob, 'userUpdated', (e) => e.user === aliceSeen && because('attributes')(e));
  await alice.user.updateAttributes({ title: 'Dr' });
  seen.userAttributes = (await userChanged).user.attributes;

  // Notification level: the member's own setting, from the SDK, then from the app over REST
  changed = next(theirs, 'updated', because('notificationLevel'));
  await theirs.setUserNotificationLevel('muted');
  seen.notificationLevel = (await changed).channel.notificationLevel;

  userChanged = next(aliceSeen, 'updated', (e) => because('friendlyName')(e) && e.user.friendlyName === 'From REST');
  changed = next(theirs, 'updated', because('notificationLevel'));
  console.log(JSON.stringify({ step: 'rest user' }));
  seen.restFriendlyName = (await userChanged).user.friendlyName;
  seen.restNotificationLevel = (await changed).channel.notificationLevel;

  // The channel's users
  const descriptors = await mine.getUserDescriptors();
  seen.descriptors = descriptors.items.map((d) => d.identity).sort();

  // Removing the message, then deleting the channel
  const removed = next(theirs, 'messageRemoved');
  await message.remove();
  seen.messageRemoved = (await removed).index;
  const gone = next(bob, 'channelRemoved');
  await mine.delete();
  seen.channelRemoved = (await gone).sid === theirs.sid;
  await alice.shutdown();
  await bob.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
