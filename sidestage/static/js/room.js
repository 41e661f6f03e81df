// A live room, or several side by side in the moderators' console: one connection, each
// room's state from room.enter, then its events. After a network drop the client
// reconnects by itself and enters again, asking only for the chat it missed.
import { pageData, part } from "./dom.js";
import { _, number } from "./i18n.js";
import { Gate, command, commandThrough, connect, watchConnection } from "./live.js";
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
    this.removed = false;
    this.waiting = null; // events that arrived while room.enter was on its way
    this.gate = new Gate();
    socket.on("disconnect", () => this.gate.close());
    this.chat = new Chat(root, this);
    this.polls = new Polls(root, this);
    this.questions = new Questions(root, this);
    this.tools = new Tools(root, this);
    this.stage = new Stage(root, this);
    this.wireModeration();
  }

  call(name, payload) {
    return commandThrough(this.gate, this.socket, name, payload);
  }

  async enter() {
    if (this.removed) return;
    const resumed = this.entered;
    this.waiting = [];
    const since = resumed ? this.chat.lastId : null;
    const answer = await command(this.socket, "room.enter", { session_id: this.id, since });
    const waiting = this.waiting;
    this.waiting = null;
    if (!answer.ok) {
      this.notice(answer.error.message);
      if (answer.error.code === "room.removed") this.leaveForGood();
      return;
    }
    this.apply(answer.data, resumed);
    waiting.forEach(([handle, data]) => handle(this, data));
    this.gate.open();
  }

  apply(state, resumed) {
    this.entered = true;
    this.moderator = state.moderator;
    this.chat.entered(state.chat, { truncated: state.chat_truncated, resumed });
    this.polls.entered(state.polls, state.moderation);
    this.questions.entered(state.questions, state.upvoted, state.moderation && state.moderation.queue);
    this.tools.entered(state.tools);
    this.stage.entered(state.stage, state.moderation);
    this.chat.slowMode(state.settings.slow_mode);
    this.questions.moderated(state.settings.qa_moderated);
    this.count(state.count);
    this.root.querySelectorAll("form [type=submit]").forEach((button) => { button.disabled = this.removed; });
    this.root.setAttribute("aria-busy", "false");
  }

  handle(handler, data) {
    if (this.waiting) this.waiting.push([handler, data]);
    else handler(this, data);
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

const EVENTS = {
  "chat.posted": (room, data) => room.chat.add(data),
  "chat.deleted": (room, data) => room.chat.remove(data.id),
  "chat.slow_mode_changed": (room, data) => room.chat.slowMode(data.seconds),
  "chat.muted": (room, data) => room.chat.muted(data.until),
  "poll.created": (room, data) => room.polls.upsert(data),
  "poll.opened": (room, data) => room.polls.upsert(data),
  "poll.closed": (room, data) => room.polls.closed(data.poll_id),
  "qa.question_added": (room, data) => room.questions.upsert(data),
  "qa.question_changed": (room, data) => room.questions.upsert(data),
  "qa.question_removed": (room, data) => room.questions.remove(data.id),
  "qa.queue_changed": (room, data) => room.questions.moderated(data.moderated),
  "tool.launched": (room, data) => room.tools.add(data),
  "stage.changed": (room, data) => room.stage.changed(data),
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

function start() {
  const config = pageData("sidestage-config");
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
