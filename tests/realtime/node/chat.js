// Two users chat through chinwag as an app's users do. Prints one JSON line of what they saw.
// usage: node chat.js <ws-url> <alice token> <bob token> <channel unique name>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor, joinedState } = require('./common');

const [url, aliceToken, bobToken, name] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 40000);
const options = sdkOptions(url);
const within = withinFor(10000);

(async () => {
  const alice = await Client.create(aliceToken, options);
  const bob = await Client.create(bobToken, options);
  const mine = await alice.createChannel({ uniqueName: name, friendlyName: 'General', attributes: { topic: 'x' } });
  await mine.join();
  await within(joinedState(alice, mine), 'alice joined');
  const theirs = await bob.getChannelByUniqueName(name);
  await theirs.join();
  await within(joinedState(bob, theirs), 'bob joined');
  seen.members = (await theirs.getMembers()).map((m) => m.identity).sort();

  const typing = within(new Promise((resolve) => mine.once('typingStarted', (m) => resolve(m.identity))), 'typing');
  await new Promise((r) => setTimeout(r, 300));
  await theirs.typing();
  seen.typing = await typing;

  const arrived = within(new Promise((resolve) => theirs.once('messageAdded', resolve)), 'messageAdded');
  seen.sentIndex = await mine.sendMessage('hello bob', { mood: 'happy' });
  const message = await arrived;
  seen.received = { index: message.index, author: message.author, body: message.body, attributes: message.attributes };

  const edited = within(new Promise((resolve) => theirs.once('messageUpdated', (e) => resolve(e.message.body))), 'messageUpdated');
  const [sent] = (await mine.getMessages()).items;
  await sent.updateBody('hello again');
  seen.edited = await edited;

  const horizon = within(new Promise((resolve) => mine.on('memberUpdated', (e) => {
    if (e.member.lastConsumedMessageIndex === 0) resolve(e.member.lastConsumedMessageIndex);
  })), 'memberUpdated');
  const unread = await theirs.updateLastConsumedMessageIndex(0); // 6.x answers the unread count
  seen.unreadAfter = typeof unread === 'number' ? unread : await theirs.getUnconsumedMessagesCount();
  seen.horizonSeenByAlice = await horizon;

  const removed = within(new Promise((resolve) => theirs.once('messageRemoved', (m) => resolve(m.index))), 'messageRemoved');
  const [own] = (await mine.getMessages()).items;
  await own.remove();
  seen.removed = await removed;

  const left = within(new Promise((resolve) => mine.once('memberLeft', (m) => resolve(m.identity))), 'memberLeft');
  await theirs.leave();
  seen.left = await left;
  await alice.shutdown();
  await bob.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
