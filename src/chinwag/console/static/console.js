// The console's only script: confirmations, and a channel page's live messages.
// Everything from the server goes into the page as text (textContent), never as markup.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// One message as the server renders it (channel.py `_message`).
function messageItem(list, index, data) {
  const base = list.dataset.base;
  const item = element("li", { class: "message", id: data.sid, "data-index": index });
  const meta = element("div", { class: "meta" });
  meta.append(element("strong", { class: "author" }, data.author), " ",
    element("time", {}, data.timestamp), " ", element("span", { class: "muted" }, "#" + index));
  const form = element("form", {
    method: "post", action: base + "/messages/" + encodeURIComponent(data.sid) + "/delete",
    class: "inline", "data-confirm": "Remove this message?",
  });
  form.append(element("input", { type: "hidden", name: "csrf", value: list.dataset.csrf }),
    element("button", { type: "submit", class: "remove" }, "Remove"));
  meta.append(form);
  item.append(meta, element("div", { class: "body" }, data.text));
  const attributes = data.attributes && data.attributes !== "{}" ? data.attributes : "";
  item.append(element("div", { class: "attributes muted" }, attributes));
  if (data.media) {
    const service = base.split("/channels/")[0];
    const p = element("p", { class: "media" });
    p.append(element("a", { href: service + "/media/" + encodeURIComponent(data.media.sid), download: "" },
      data.media.filename || data.media.sid));
    item.append(p);
  }
  return item;
}

function apply(list, change) {
  const event = change.event || {};
  const index = event.item_index;
  const existing = list.querySelector(`li[data-index="${Number(index)}"]`);
  if (change.event_type === "list_item_added" && !existing) {
    list.prepend(messageItem(list, index, event.item_data || {}));
  } else if (change.event_type === "list_item_updated" && existing) {
    existing.replaceWith(messageItem(list, index, event.item_data || {}));
  } else if (change.event_type === "list_item_removed" && existing) {
    existing.remove();
  }
}

// Who is typing, each until their indicator's timeout (the service's, in seconds) runs out.
function typingShown(line) {
  const typists = new Map();
  const render = () => {
    const names = [...typists.keys()];
    line.textContent = names.length === 0 ? ""
      : names.join(", ") + (names.length === 1 ? " is typing…" : " are typing…");
  };
  return (data) => {
    if (!data.identity) return;
    clearTimeout(typists.get(data.identity));
    const after = 1000 * (Number(data.timeout) || 5);
    typists.set(data.identity, setTimeout(() => { typists.delete(data.identity); render(); }, after));
    render();
  };
}

function follow(list) {
  const state = document.getElementById("live-state");
  const line = document.getElementById("typing");
  const source = new EventSource(list.dataset.events + "?since=" + encodeURIComponent(list.dataset.since));
  source.onopen = () => { if (state) state.textContent = "● live"; };
  source.onerror = () => { if (state) state.textContent = "reconnecting…"; };
  source.onmessage = (message) => {
    try { apply(list, JSON.parse(message.data)); } catch (error) { console.error(error); }
  };
  if (line) {
    const typed = typingShown(line);
    source.addEventListener("typing", (message) => {
      try { typed(JSON.parse(message.data)); } catch (error) { console.error(error); }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const list = document.getElementById("messages");
  if (list && list.dataset.events) follow(list);
});
