// A live room, or several side by side in the moderators' console: one connection, each
// room's state from room.enter, then its events. Room events carry the room's number
// (seq): each is applied once, in order. After a network drop the client reconnects by
// itself and enters again from the last number it applied, and is sent what it missed.
import { pageData, part } from "./dom.js";
import { _, number } from "./i18n.js";
import { Gate, command, commandThrough, connect, watchConnection } from "./live.js";
import { Captions } from "./captions.js";
import { Chat } from "./chat.js";
import { Polls } from "./polls.js";
import { Questions } from "./questions.js";
import { Stage } from "./stage.js";
import { Tools } from "./tools.js";

class Room {
  constructor(root, socket, config) {
    this.root = root;
    this.id = Number(root.dataset.room);
    this.socket = socket;
    this.accountId = config.account_id;
    this.zone = config.zone;
    this.moderator = false;
    this.console = "console" in root.dataset; // the moderators' console: no ballots, no upvotes
    this.entered = false;
    this.seq = null; // the number of the last room event applied
    this.removed = false;
    this.waiting = null; // events that arrived while room.enter was on its way
    this.gate = new Gate();
    socket.on("disconnect", () => this.gate.close());
    this.chat = new Chat(root, this);
    this.polls = new Polls(root, this);
    this.questions = new Questions(root, this);
    this.tools = new Tools(root, this);
    this.stage = new Stage(root, this);
    this.captions = new Captions(root, this);
    this.wireModeration();
  }

  call(name, payload) {
    return commandThrough(this.gate, this.socket, name, payload);
  }

  async enter() {
    if (this.removed) return;
    if (this.waiting) return; // an entry is on its way; what arrives meanwhile waits for it
    this.waiting = [];
    const payload = { session_id: this.id };
    if (this.entered && this.seq !== null) payload.since_seq = this.seq;
    const answer = await command(this.socket, "room.enter", payload);
    const waiting = this.waiting;
    this.waiting = null;
    if (!answer.ok) {
      this.notice(answer.error.message);
      if (answer.error.code === "room.removed") this.leaveForGood();
      return;
    }
    if (answer.data.resumed) this.resume(answer.data);
    else this.apply(answer.data);
    this.seq = answer.data.seq;
    waiting.forEach(([handle, data]) => this.deliver(handle, data));
    this.gate.open();
  }

  // The whole room, as of the answer's number.
  apply(state) {
    this.entered = true;
    this.moderator = state.moderator;
    this.chat.entered(state.chat, state.chat_truncated);
    this.polls.entered(state.polls, state.moderation);
    this.questions.entered(state.questions, state.upvoted, state.moderation && state.moderation.queue);
    this.tools.entered(state.tools);
    this.stage.entered(state.stage, state.moderation);
    this.stage.interpretation?.entered(state.may_interpret);
    this.captions.entered(state.captions, state.languages, state.may_caption);
    this.chat.slowMode(state.settings.slow_mode);
    this.questions.moderated(state.settings.qa_moderated);
    this.count(state.count);
    this.root.querySelectorAll("form [type=submit]").forEach((button) => { button.disabled = this.removed; });
    this.root.setAttribute("aria-busy", "false");
  }

  // Back from where this client left off: the room's events since then follow; the rest
  // (polls with their tallies, the moderators' queue, settings) comes whole.
  resume(state) {
    this.moderator = state.moderator;
    this.polls.entered(state.polls, state.moderation);
    (state.moderation?.queue || []).forEach((question) => this.questions.upsert(question));
    this.chat.slowMode(state.settings.slow_mode);
    this.questions.moderated(state.settings.qa_moderated);
    this.count(state.count);
  }

  handle(handler, data) {
    if (this.waiting) this.waiting.push([handler, data]);
    else this.deliver(handler, data);
  }

  // The server sends each room event once, in order; should one ever be missing (a jump
  // in the numbers), entering again from the last one applied fetches it.
  deliver(handler, data) {
    if (data.seq === undefined) {
      handler(this, data);
    } else if (data.seq === this.seq + 1) {
      this.seq = data.seq;
      handler(this, data);
    } else if (data.seq > this.seq) {
      this.enter();
    }
  }

  count(people) {
    const shown = part(this.root, "count");
    if (shown) shown.textContent = _("People here: %(count)s", { count: number(people) });
  }

  notice(text) {
    const shown = part(this.root, "notice");
    if (shown) shown.textContent = text;
  }

  leaveForGood() {
    this.removed = true;
    this.root.dataset.removed = "";
    this.root.querySelectorAll("form button, form input, form textarea").forEach((control) => { control.disabled = true; });
  }

  wireModeration() {
    const slow = part(this.root, "slow-mode-choice");
    slow?.addEventListener("change", async () => {
      const answer = await this.call("chat.slow_mode", { session_id: this.id, seconds: Number(slow.value) });
      if (!answer.ok) this.notice(answer.error.message);
    });
    const queue = part(this.root, "qa-queue-toggle");
    queue?.addEventListener("change", async () => {
      const answer = await this.call("qa.queue", { session_id: this.id, moderated: queue.checked });
      if (!answer.ok) this.notice(answer.error.message);
    });
  }
}

// Moderators get each question event twice, the room's copy (numbered) and their own (with
// the author), in no set order: they keep their own.
const forParticipants = (handler) => (room, data) => {
  if (!(room.moderator && data.seq !== undefined)) handler(room, data);
};

const EVENTS = {
  "chat.posted": (room, data) => room.chat.add(data),
  "chat.deleted": (room, data) => room.chat.remove(data.id),
  "chat.slow_mode_changed": (room, data) => room.chat.slowMode(data.seconds),
  "chat.muted": (room, data) => room.chat.muted(data.until),
  "poll.created": (room, data) => room.polls.upsert(data),
  "poll.opened": (room, data) => room.polls.upsert(data),
  "poll.closed": (room, data) => room.polls.closed(data.poll_id),
  "qa.question_added": forParticipants((room, data) => room.questions.upsert(data)),
  "qa.question_changed": forParticipants((room, data) => room.questions.upsert(data)),
  "qa.question_removed": forParticipants((room, data) => room.questions.remove(data.id)),
  "qa.queue_changed": (room, data) => room.questions.moderated(data.moderated),
  "tool.launched": (room, data) => room.tools.add(data),
  "stage.changed": (room, data) => room.stage.changed(data),
  "caption.added": (room, data) => room.captions.add(data),
  "room.count_changed": (room, data) => room.count(data.count),
  "room.removed": (room) => { room.notice(_("A moderator removed you from this room.")); room.leaveForGood(); },
};

function route(socket, rooms) {
  for (const [name, handler] of Object.entries(EVENTS)) {
    socket.on(name, (data) => rooms.get(data.session_id)?.handle(handler, data));
  }
  // Tallies name only their poll.
  socket.on("poll.results_changed", (tally) => {
    rooms.forEach((room) => { if (room.polls.has(tally.poll_id)) room.polls.results(tally); });
  });
  socket.on("connect", () => rooms.forEach((room) => room.enter()));
}

function showStream(button) {
  const frame = document.createElement("iframe");
  frame.src = button.dataset.src;
  frame.title = button.dataset.title;
  frame.allow = "autoplay; fullscreen";
  frame.className = "stream";
  button.replaceWith(frame);
}

// The room of a session that ends while one is in it says so when it does.
const DAY_MS = 24 * 3600 * 1000;
function announceTheEnd(notice) {
  const left = new Date(notice.dataset.endsAt) - Date.now();
  if (notice.hidden && left > 0 && left < DAY_MS) setTimeout(() => { notice.hidden = false; }, left);
}

function start() {
  const config = pageData("sidestage-config");
  document.querySelectorAll("[data-part=session-ended]").forEach(announceTheEnd);
  const socket = connect();
  const rooms = new Map();
  document.querySelectorAll("[data-room]").forEach((root) => {
    const room = new Room(root, socket, config);
    rooms.set(room.id, room);
  });
  document.querySelectorAll("[data-action=show-stream]").forEach((button) => {
    button.addEventListener("click", () => showStream(button));
  });
  watchConnection(socket, document.getElementById("connection"));
  route(socket, rooms);
}

start();
