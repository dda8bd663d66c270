// The chinwag demo: a token from /demo/token, then everything through the twilio-chat SDK,
// pointed at this server's twilsock endpoint. No build step: plain browser JavaScript.
'use strict';

const $ = (id) => document.getElementById(id);
const wsUri = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v3/wsconnect';

let client = null;
let me = null;
let room = null; // { channel, handlers, reads: Map identity -> last read index, typing: Set }

function say(text) { $('status').textContent = text; }

async function fetchToken(identity) {
  const response = await fetch('/demo/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ identity }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || 'no token');
  return body.token;
}

async function connect(identity) {
  say('Connecting…');
  const token = await fetchToken(identity);
  client = await Twilio.Chat.Client.create(token, { Twilsock: { uri: wsUri }, logLevel: (new URLSearchParams(location.search)).get("log") || "silent" });
  me = identity;
  client.on('connectionStateChanged', (state) => say(`${state} as ${me}`));
  client.on('tokenAboutToExpire', async () => client.updateToken(await fetchToken(me)));
  for (const event of ['channelAdded', 'channelJoined', 'channelLeft', 'channelRemoved']) {
    client.on(event, () => refreshChannels());
  }
  // Public channels made by others raise no event on this client: look again now and then.
  setInterval(() => refreshChannels().catch(() => {}), 15000);
  say(`connected as ${me}`);
  $('login').hidden = true;
  $('chat').hidden = false;
  await refreshChannels();
}

async function everyItem(paginator) {
  const items = [];
  for (let page = await paginator; ; page = await page.nextPage()) {
    items.push(...page.items);
    if (!page.hasNextPage) return items;
  }
}

async function refreshChannels() {
  const found = new Map();
  for (const d of await everyItem(client.getPublicChannelDescriptors())) {
    found.set(d.sid, { sid: d.sid, name: d.uniqueName || d.friendlyName || d.sid, joined: false });
  }
  for (const c of await everyItem(client.getSubscribedChannels())) {
    found.set(c.sid, { sid: c.sid, name: c.uniqueName || c.friendlyName || c.sid, joined: c.status === 'joined' });
  }
  const list = $('channels');
  list.replaceChildren();
  for (const entry of [...found.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const item = document.createElement('li');
    item.dataset.sid = entry.sid;
    item.dataset.name = entry.name;
    item.textContent = entry.name + (entry.joined ? '' : ' (join)');
    item.className = (entry.joined ? 'joined' : '') + (room && room.channel.sid === entry.sid ? ' open' : '');
    item.addEventListener('click', () => openChannel(client.getChannelBySid(entry.sid)));
    list.append(item);
  }
}

async function channelByName(name) {
  try {
    return await client.getChannelByUniqueName(name);
  } catch (notFound) {
    try {
      return await client.createChannel({ uniqueName: name, friendlyName: name });
    } catch (lostRace) { // someone created it meanwhile
      return client.getChannelByUniqueName(name);
    }
  }
}

function joined(channel) {
  if (channel.status === 'joined') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('join timed out')), 15000);
    const done = (c) => { if (c.sid === channel.sid) { clearTimeout(timer); client.removeListener('channelJoined', done); resolve(); } };
    client.on('channelJoined', done);
  });
}

async function openChannel(found) {
  const channel = await found;
  if (channel.status !== 'joined') {
    await channel.join().catch((e) => { if (channel.status !== 'joined') throw e; });
    await joined(channel);
  }
  if (room) for (const [event, fn] of room.handlers) room.channel.removeListener(event, fn);
  room = { channel, handlers: [], reads: new Map(), typing: new Set() };
  const on = (event, fn) => { room.handlers.push([event, fn]); channel.on(event, fn); };
  on('messageAdded', (m) => { showMessage(m); markRead(m.index); });
  on('typingStarted', (member) => { room.typing.add(member.identity); showTyping(); });
  on('typingEnded', (member) => { room.typing.delete(member.identity); showTyping(); });
  on('memberUpdated', ({ member }) => { noteRead(member); showReads(); });
  on('memberJoined', (member) => { noteRead(member); showReads(); });
  on('memberLeft', (member) => { room.reads.delete(member.identity); showReads(); });

  $('room-name').textContent = channel.friendlyName || channel.uniqueName || channel.sid;
  $('room-name').dataset.sid = channel.sid;
  $('messages').replaceChildren();
  $('composer').hidden = false;
  for (const member of await channel.getMembers()) noteRead(member);
  const page = await channel.getMessages(50);
  page.items.forEach(showMessage);
  if (page.items.length) markRead(page.items[page.items.length - 1].index);
  showReads();
  showTyping();
  await refreshChannels();
  $('body').focus();
}

function noteRead(member) {
  if (member.identity === me) return;
  const index = member.lastConsumedMessageIndex;
  if (typeof index === 'number') room.reads.set(member.identity, index);
}

function markRead(index) {
  // Reading is what this page shows: everything up to the newest message shown.
  room.channel.updateLastConsumedMessageIndex(index).catch(() => {});
}

function showMessage(message) {
  const item = document.createElement('li');
  item.className = 'message' + (message.author === me ? ' mine' : '');
  item.dataset.index = String(message.index);
  const author = document.createElement('b');
  author.textContent = message.author;
  const body = document.createElement('span');
  body.className = 'body';
  item.append(author, body);
  if (message.type === 'media') {
    const image = document.createElement('img');
    image.alt = message.media.filename || 'image';
    body.append(image);
    message.media.getContentTemporaryUrl().then((url) => { image.src = url; });
  } else {
    body.textContent = message.body;
  }
  const list = $('messages');
  const after = [...list.children].find((li) => Number(li.dataset.index) > message.index);
  list.insertBefore(item, after || null);
  list.scrollTop = list.scrollHeight;
  showReads();
}

function showReads() {
  // Each other member's read position, shown on the newest message they have read.
  document.querySelectorAll('#messages .reads').forEach((n) => n.remove());
  const rows = [...$('messages').children];
  for (const [identity, index] of [...room.reads].sort()) {
    const row = rows.filter((li) => Number(li.dataset.index) <= index).pop();
    if (!row) continue;
    const mark = document.createElement('span');
    mark.className = 'reads';
    mark.dataset.identity = identity;
    mark.textContent = `seen by ${identity}`;
    row.append(mark);
  }
}

function showTyping() {
  const who = [...room.typing].sort();
  $('typing').textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  connect($('identity').value.trim()).catch((e) => say(`Could not connect: ${e.message}`));
});

$('create').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('new-channel').value.trim();
  $('new-channel').value = '';
  openChannel(channelByName(name)).catch((e) => say(`Could not open ${name}: ${e.message}`));
});

$('body').addEventListener('input', () => { if (room) room.channel.typing(); });

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('body').value;
  if (!room || !text.trim()) return;
  $('body').value = '';
  room.channel.sendMessage(text).catch((e) => say(`Not sent: ${e.message}`));
});

$('file').addEventListener('change', () => {
  const file = $('file').files[0];
  if (!room || !file) return;
  const form = new FormData();
  form.append('file', file); // the SDK posts it to the media service, then sends the message
  room.channel.sendMessage(form).catch((e) => say(`Image not sent: ${e.message}`));
  $('file').value = '';
});
