// The room's chat: messages in id order, each once, whatever the reconnects; the list is
// an ARIA log, so screen readers announce new messages as they arrive.
import { busy, h, part } from "./dom.js";
import { _, clock } from "./i18n.js";
import { clientId } from "./live.js";

const PAGE = 50; // chat.history answers at most this many
const WEB_ADDRESS = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'»]/g; // trailing punctuation stays text

// The message's text with its web addresses as links, built as nodes (never as HTML).
function linked(text) {
  const parts = [];
  let last = 0;
  for (const found of text.matchAll(WEB_ADDRESS)) {
    parts.push(text.slice(last, found.index));
    parts.push(h("a", { href: found[0], target: "_blank", rel: "noopener noreferrer nofollow ugc" }, found[0]));
    last = found.index + found[0].length;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== "");
}

export class Chat {
  constructor(root, room) {
    this.room = room;
    this.list = part(root, "chat");
    this.status = part(root, "chat-status");
    this.earlier = part(root, "chat-earlier");
    this.form = part(root, "chat-form");
    this.items = new Map();
    this.pending = null; // the client id of a message not yet acknowledged
    this.form?.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    this.earlier?.addEventListener("click", () => this.loadEarlier());
  }

  get lastId() {
    return this.list.lastElementChild ? Number(this.list.lastElementChild.dataset.id) : null;
  }

  // room.enter answered with the whole room (a resumed entry is sent what it missed as
  // events instead).
  entered(messages, truncated) {
    this.clear();
    messages.forEach((message) => this.add(message));
    if (this.earlier) this.earlier.hidden = messages.length < PAGE && !truncated;
  }

  clear() {
    this.items.clear();
    this.list.replaceChildren();
  }

  add(message) {
    if (this.items.has(message.id)) return;
    const item = this.render(message);
    const log = this.list.parentElement;
    const following = log.scrollHeight - log.scrollTop - log.clientHeight < 40; // reading the newest
    const newest = this.lastId;
    this.items.set(message.id, item);
    if (newest === null || message.id > newest) {
      this.list.append(item); // the usual case: a new message
      // Keep the newest in view for whoever was reading it; never move the page itself.
      if (following) log.scrollTop = log.scrollHeight;
      return;
    }
    // Older history paged in, or a catch-up racing a live event: find its place.
    const later = [...this.items.keys()].filter((id) => id > message.id).sort((a, b) => a - b)[0];
    this.list.insertBefore(item, this.items.get(later));
  }

  remove(id) {
    this.items.get(id)?.remove();
    this.items.delete(id);
  }

  render(message) {
    const mine = message.author.id === this.room.accountId;
    const at = clock(message.at, this.room.zone);
    // Each button's name says whose message or whom it acts on, for those who hear the list.
    const who = (text) => h("span", { class: "visually-hidden" }, ` ${text}`);
    const actions = [];
    if (mine || this.room.moderator) {
      actions.push(h("button", { type: "button", class: "quiet", onclick: () => this.deleteMessage(message.id) }, _("Delete"), who(`${message.author.name}, ${at}`)));
    }
    if (this.room.moderator && !mine) {
      actions.push(h("button", { type: "button", class: "quiet", onclick: () => this.mute(message.author) }, _("Mute for 15 minutes"), who(message.author.name)));
      actions.push(h("button", { type: "button", class: "quiet", onclick: () => this.removePerson(message.author) }, _("Remove from the room"), who(message.author.name)));
    }
    return h("li", { "data-id": message.id },
      h("span", { class: "who" }, h("bdi", {}, message.author.name)), " ",
      h("time", { datetime: message.at, class: "meta" }, at),
      h("p", { dir: "auto" }, ...linked(message.text)),
      actions.length ? h("span", { class: "actions" }, actions) : null);
  }

  async send() {
    const input = this.form.elements.text;
    const text = input.value.trim();
    if (!text) return;
    this.pending = this.pending || clientId();
    const answer = await busy(this.form, () => this.room.call("chat.send", { session_id: this.room.id, text, client_id: this.pending }));
    if (answer.ok) {
      this.pending = null;
      input.value = "";
      this.say("");
    } else {
      this.say(answer.error.message);
    }
    input.focus();
  }

  async loadEarlier() {
    const first = this.items.size ? Math.min(...this.items.keys()) : null;
    const answer = await this.room.call("chat.history", { session_id: this.room.id, before: first });
    if (!answer.ok) return this.say(answer.error.message);
    answer.data.messages.forEach((message) => this.add(message));
    this.earlier.hidden = answer.data.messages.length < PAGE;
  }

  async deleteMessage(id) {
    const answer = await this.room.call("chat.delete", { message_id: id });
    if (!answer.ok) this.say(answer.error.message);
  }

  async mute(author) {
    const answer = await this.room.call("chat.mute", { session_id: this.room.id, account_id: author.id, minutes: 15 });
    this.say(answer.ok ? _("%(name)s cannot write for 15 minutes.", { name: author.name }) : answer.error.message);
  }

  async removePerson(author) {
    if (!window.confirm(_("Remove %(name)s from this room for good?", { name: author.name }))) return;
    const answer = await this.room.call("room.remove", { session_id: this.room.id, account_id: author.id });
    this.say(answer.ok ? _("%(name)s was removed from the room.", { name: author.name }) : answer.error.message);
  }

  slowMode(seconds) {
    const note = part(this.room.root, "slow-mode");
    if (note) note.textContent = seconds ? _("Slow mode: one message every %(seconds)s seconds.", { seconds }) : "";
    const choice = part(this.room.root, "slow-mode-choice");
    if (choice) choice.value = String(seconds);
  }

  muted(until) {
    this.say(_("A moderator muted you in this chat until %(time)s.", { time: clock(until, this.room.zone) }));
  }

  say(text) {
    if (this.status) this.status.textContent = text;
  }
}
