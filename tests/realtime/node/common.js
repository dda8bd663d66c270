// What the SDK test scripts share: the SDK's options, a run bounded in time that prints what it
// saw as one JSON line, and waits that fail rather than hang.

// The only option an app sets to point the SDK at chinwag (plus a quiet log).
const sdkOptions = (url) => ({ Twilsock: { uri: url }, logLevel: process.env.SDK_LOG_LEVEL || 'silent' });

// `finish(code)`: print `seen`, exit with `code`; after `limitMs` the run finishes with 2.
const reporter = (seen, limitMs) => {
  const finish = (code) => { console.log(JSON.stringify(seen)); process.exit(code); };
  setTimeout(() => { seen.timeout = true; finish(2); }, limitMs); // every wait is bounded
  return finish;
};

// `within(promise, what, ms)`, rejecting with 'timeout: what' after ms (`defaultMs` unless given).
const withinFor = (defaultMs) => (promise, what, ms = defaultMs) => Promise.race([promise,
  new Promise((_, reject) => setTimeout(() => reject(new Error('timeout: ' + what)), ms))]);
const within = withinFor(10000);

// The next `event` of `emitter` that passes `test`.
const next = (emitter, event, test = () => true) => within(new Promise((resolve) => {
  const handler = (e) => { if (test(e)) { emitter.removeListener(event, handler); resolve(e); } };
  emitter.on(event, handler);
}), event);

// Resolves once `client` has joined `channel`.
const joinedState = (client, channel) => new Promise((resolve) => {
  if (channel.status === 'joined') resolve(); else client.once('channelJoined', () => resolve());
});

// 'allowed', or the status and Twilio code the SDK call failed with.
const refusal = (promise) => promise.then(() => 'allowed',
  (e) => ({ status: e.status, code: e.body && e.body.code }));

module.exports = { sdkOptions, reporter, withinFor, next, joinedState, refusal };
