// The rest of the SDK's public surface, used as an app uses it: adding and removing members,
// counts, every way of moving a read horizon, member lookups, message paging in both
// directions, a descriptor's channel, local channel lists, and following a user by hand.
// Prints one JSON line of what it saw; the test checks it against REST.
// usage: node surface.js <ws-url> <alice token> <bob token> <carol token> <channel unique name>
//        <an identity that never connects>
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor, next } = require('./common');

const [url, aliceToken, bobToken, carolToken, name, dave] = process.argv.slice(2);
const seen = {};
const finish = reporter(seen, 50000);
const options = sdkOptions(url);
const within = withinFor(10000);
const indexes = (page) => page.items.map((m) => m.index);

(async () => {
  const alice = await Client.create(aliceToken, options);
  const bob = await Client.create(bobToken, options);
  const carol = await Client.create(carolToken, options);
  const mine = await alice.createChannel({ uniqueName: name, friendlyName: 'Surface', attributes: { topic: 'all' } });
  await mine.join();

  // channel.add(identity): the creator (channel admin) adds bob and carol, who see it live
  const bobJoined = next(bob, 'channelJoined', (c) => c.sid === mine.sid);
  const carolJoined = next(carol, 'channelJoined', (c) => c.sid === mine.sid);
  await mine.add(bob.user.identity);
  await mine.add(carol.user.identity);
  const theirs = await bobJoined;
  const hers = await carolJoined;
  for (let i = 0; i < 5; i += 1) await mine.sendMessage(`m${i}`);

  // Counts, asked of the server
  seen.messagesCount = await theirs.getMessagesCount();
  seen.membersCount = await theirs.getMembersCount();
  seen.attributes = await theirs.getAttributes();

  // Read horizons: bob ends with everything read, carol with nothing read (no horizon: the
  // unread count is null, as on Twilio)
  seen.bob = { none: await theirs.setNoMessagesConsumed() };
  // The SDK compares with its own copy of the horizon, which follows the server's over Sync
  const at2 = next(theirs, 'updated', () => theirs.lastConsumedMessageIndex === 2);
  seen.bob.advancedTo2 = await theirs.advanceLastConsumedMessageIndex(2);
  await at2;
  seen.bob.advancedTo1 = await theirs.advanceLastConsumedMessageIndex(1); // never moves back
  seen.bob.horizonAfterBack = theirs.lastConsumedMessageIndex;
  seen.bob.all = await theirs.setAllMessagesConsumed();
  seen.bob.unread = await theirs.getUnconsumedMessagesCount();
  seen.carol = { at3: await hers.updateLastConsumedMessageIndex(3) };
  seen.carol.none = await hers.setNoMessagesConsumed();

  // Paging: newest first, back and forth, from an anchor, forward
  const newest = await theirs.getMessages(2);
  const older = await newest.prevPage();
  const oldest = await older.prevPage();
  seen.backwards = [indexes(newest), indexes(older), indexes(oldest), oldest.hasPrevPage];
  // (not from the page holding index 0: 6.x's twilio-sync takes item 0 for "no page", so
  // that page's nextPage() starts over, on Twilio as here; 5.x follows the server's tokens)
  seen.backAgain = indexes(await older.nextPage());
  const forward = await theirs.getMessages(2, 1, 'forward');
  seen.forward = [indexes(forward), indexes(await forward.nextPage())];
  seen.anchored = indexes(await theirs.getMessages(3, 2));

  // Members: by SID, a message's author, and a member's user and descriptor
  const aliceMember = await theirs.getMemberByIdentity(alice.user.identity);
  seen.aliceMemberSid = aliceMember.sid;
  seen.bySid = (await theirs.getMemberBySid(aliceMember.sid)).identity;
  const [first] = (await theirs.getMessages(1, 0, 'forward')).items;
  seen.messageMember = (await first.getMember()).sid;
  seen.memberUser = (await aliceMember.getUser()).identity;
  const descriptor = await aliceMember.getUserDescriptor();
  seen.memberDescriptor = { identity: descriptor.identity, friendlyName: descriptor.friendlyName };

  // A descriptor's channel, and the channels the client holds
  const publicOnes = await bob.getPublicChannelDescriptors();
  const listed = publicOnes.items.find((d) => d.uniqueName === name);
  seen.descriptorChannel = (await listed.getChannel()).sid;
  seen.local = (await bob.getLocalChannels({ criteria: 'uniqueName' })).map((c) => c.uniqueName);

  // Following carol by hand: subscribe to her descriptor, see her rename, unsubscribe
  const carolSeen = await (await bob.getUserDescriptor(carol.user.identity)).subscribe();
  seen.subscribedBefore = (await bob.getSubscribedUsers()).map((u) => u.identity);
  const renamed = next(carolSeen, 'updated', (e) => e.updateReasons.includes('friendlyName'));
  await carol.user.updateFriendlyName('Carol C');
  seen.followedRename = (await renamed).user.friendlyName;
  await carolSeen.unsubscribe();
  seen.subscribedAfter = (await bob.getSubscribedUsers()).map((u) => u.identity);

  // member.remove(): dave, added by identity without ever connecting, is removed again
  const joined = next(mine, 'memberJoined', (m) => m.identity === dave);
  await mine.add(dave);
  const daveMember = await joined;
  const left = next(mine, 'memberLeft', (m) => m.identity === dave);
  await daveMember.remove();
  seen.removedMember = (await left).identity;

  await Promise.all([alice.shutdown(), bob.shutdown(), carol.shutdown()]);
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
