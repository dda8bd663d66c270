// Media messages through chinwag's media service, as an app sends them. Prints one JSON line.
// usage: node media.js <ws-url> <alice token> <bob token> <channel unique name> <mode> <hex bytes> <too-large bytes>
//   mode "buffer":   sendMessage({contentType, media: Buffer}); uploads go through the SDK's own
//                    XHR for Node (the `xmlhttprequest` package)
//   mode "formdata": sendMessage(formData); a browser engine's XMLHttpRequest is put in place
//                    first (Node has FormData and fetch, but the SDK posts FormData only through
//                    a browser's XHR), so the upload is multipart/form-data as a page sends it
const [url, aliceToken, bobToken, name, mode, hex, tooLarge] = process.argv.slice(2);

if (mode === 'formdata') {
  // A browser's XMLHttpRequest, as far as the SDK's transport uses it, over Node's fetch.
  global.XMLHttpRequest = class {
    constructor() { this.readyState = 0; this.status = 0; this.responseText = ''; this.headers = {}; this.answer = new Headers(); }
    open(method, target) { this.method = method; this.target = target; this.readyState = 1; }
    setRequestHeader(header, value) { this.headers[header] = value; }
    getResponseHeader(header) { return this.answer.get(header); }
    getAllResponseHeaders() { return [...this.answer].map(([k, v]) => `${k}: ${v}`).join('\r\n'); }
    send(body) {
      const done = () => { this.readyState = 4; if (this.onreadystatechange) this.onreadystatechange(); };
      fetch(this.target, { method: this.method, headers: this.headers, body })
        .then(async (r) => { this.status = r.status; this.statusText = r.statusText; this.answer = r.headers; this.responseText = await r.text(); done(); })
        .catch((e) => { this.responseText = String(e); done(); });
    }
  };
}
const { Client } = require('twilio-chat');
const { sdkOptions, reporter, withinFor, joinedState } = require('./common');

const seen = {};
const finish = reporter(seen, 45000);
const options = sdkOptions(url);
const within = withinFor(15000);

const bytes = Buffer.from(hex, 'hex');
const send = (channel, data, filename) => {
  if (mode === 'formdata') {
    const form = new FormData();
    form.append('note', 'not the file');
    form.append('file', new Blob([data], { type: 'image/png' }), filename);
    return channel.sendMessage(form, { kind: 'picture' });
  }
  return channel.sendMessage({ contentType: 'image/png', media: data }, { kind: 'picture' });
};

(async () => {
  const alice = await Client.create(aliceToken, options);
  const bob = await Client.create(bobToken, options);
  const mine = await alice.createChannel({ uniqueName: name });
  await mine.join();
  await within(joinedState(alice, mine), 'alice joined');
  const theirs = await bob.getChannelByUniqueName(name);
  await theirs.join();
  await within(joinedState(bob, theirs), 'bob joined');

  const arrived = within(new Promise((resolve) => theirs.once('messageAdded', resolve)), 'messageAdded');
  seen.sentIndex = await send(mine, bytes, 'dot.png');
  const message = await arrived;
  seen.received = {
    type: message.type,
    author: message.author,
    attributes: message.attributes,
    sid: message.media.sid,
    contentType: message.media.contentType,
    filename: message.media.filename,
    size: message.media.size,
  };
  const link = await message.media.getContentTemporaryUrl();
  seen.temporaryUrl = link;
  const response = await fetch(link); // a plain GET, no token: what an <img> does
  seen.fetched = { status: response.status, type: response.headers.get('content-type'),
    hex: Buffer.from(await response.arrayBuffer()).toString('hex') };

  try {
    await send(mine, Buffer.alloc(Number(tooLarge), 7), 'big.png');
    seen.tooLarge = 'accepted';
  } catch (e) {
    let body = e.body;
    if (typeof body === 'string') { try { body = JSON.parse(body); } catch (_) { /* as is */ } }
    seen.tooLarge = { status: e.code || e.status, body };
  }
  seen.messages = (await mine.getMessages()).items.map((m) => m.type);
  await alice.shutdown();
  await bob.shutdown();
  finish(0);
})().catch((e) => { seen.error = String((e && e.stack) || e); finish(1); });
