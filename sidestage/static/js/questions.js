// Q&A: questions ordered pinned first, then by upvotes, then oldest first; one upvote
// per person; moderators approve, pin, answer and hide from the same list.
import { busy, h, part } from "./dom.js";
import { _, number } from "./i18n.js";
import { clientId } from "./live.js";

const STATUS_LABELS = () => ({ pending: _("Waiting for approval"), answered: _("Answered"), hidden: _("Hidden") });

export class Questions {
  constructor(root, room) {
    this.room = room;
    this.list = part(root, "questions");
    this.empty = part(root, "questions-empty");
    this.queueNote = part(root, "qa-queue-note");
    this.form = part(root, "ask-form");
    this.status = part(root, "ask-status");
    this.questions = new Map();
    this.upvoted = new Set();
    this.mine = new Set();
    this.drawn = new Map(); // question id -> { look, element }: items whose look is unchanged stay
    this.pending = null;
    this.form?.addEventListener("submit", (event) => { event.preventDefault(); this.ask(); });
  }

  entered(questions, upvoted, queue) {
    this.questions.clear();
    this.drawn.clear(); // who may do what can differ after a reconnect
    this.upvoted = new Set(upvoted);
    [...questions, ...(queue || [])].forEach((question) => this.questions.set(question.id, question));
    this.redraw();
  }

  upsert(question) {
    const before = this.questions.get(question.id);
    this.questions.set(question.id, question);
    if (this.isMine(question) && before?.status === "pending" && question.status === "visible") {
      this.say(_("A moderator approved your question: it is in the list."));
    }
    this.redraw();
  }

  remove(id) {
    if (this.room.moderator && this.questions.get(id)?.status === "hidden") return; // moderators keep hidden ones
    this.questions.delete(id);
    this.redraw();
  }

  moderated(on) {
    if (this.queueNote) this.queueNote.hidden = !on;
    const toggle = part(this.room.root, "qa-queue-toggle");
    if (toggle) toggle.checked = on;
  }

  ordered() {
    return [...this.questions.values()]
      .filter((q) => q.status !== "withdrawn" && (this.room.moderator || q.status !== "hidden"))
      .sort((a, b) => (b.pinned - a.pinned) || (b.upvotes - a.upvotes) || a.at.localeCompare(b.at) || a.id - b.id);
  }

  // Only what changed is drawn again: a copy of an event already applied (moderators get
  // some twice) or an upvote elsewhere leaves the other items, and the focus, where they are.
  redraw() {
    const focusKey = document.activeElement?.dataset?.key;
    const drawn = new Map(this.ordered().map((question) => [question.id, this.item(question)]));
    const items = [...drawn.values()].map((entry) => entry.element);
    const unchanged = items.length === this.list.children.length && items.every((item, i) => item === this.list.children[i]);
    if (!unchanged) this.list.replaceChildren(...items);
    this.drawn = drawn;
    if (focusKey && !this.list.contains(document.activeElement)) this.list.querySelector(`[data-key="${focusKey}"]`)?.focus();
    if (this.empty) this.empty.hidden = this.questions.size > 0;
  }

  item(question) {
    const look = JSON.stringify([question, this.upvoted.has(question.id), this.isMine(question)]);
    const known = this.drawn.get(question.id);
    return known && known.look === look ? known : { look, element: this.render(question) };
  }

  render(question) {
    const labels = STATUS_LABELS();
    const author = question.author ? question.author.name : _("Anonymous");
    const tags = [question.pinned ? _("Pinned") : null, labels[question.status] || null].filter(Boolean);
    return h("li", { "data-id": question.id, class: question.pinned ? "pinned" : null },
      h("p", { dir: "auto" }, question.text),
      h("p", { class: "meta" }, h("bdi", {}, author), " · ",
        _("Upvotes: %(count)s", { count: number(question.upvotes) }),
        tags.map((tag) => h("span", { class: "tag" }, tag))),
      h("p", { class: "actions" }, this.actions(question)));
  }

  actions(question) {
    // Each button's name says which question it acts on, for those who hear the list.
    const subject = h("span", { class: "visually-hidden" }, ` ${question.text.slice(0, 80)}`);
    const button = (label, key, onclick, extra = {}) =>
      h("button", { type: "button", class: "quiet", "data-key": `${key}${question.id}`, onclick, ...extra }, label, subject.cloneNode(true));
    const buttons = [];
    const open = question.status === "visible" || question.status === "answered";
    const mine = this.isMine(question);
    if (open && !mine && !this.room.console) {
      const done = this.upvoted.has(question.id);
      // Not disabled once pressed: a disabled button drops the keyboard's focus to the top.
      buttons.push(button(_("Upvote"), "up", () => done || this.upvote(question), { "aria-pressed": done ? "true" : "false", "aria-disabled": done ? "true" : null }));
    }
    if (mine) buttons.push(button(_("Withdraw"), "wd", () => this.send("qa.withdraw", { question_id: question.id })));
    if (this.room.moderator) {
      const act = (label, action) => button(label, action, () => this.send("qa.moderate", { question_id: question.id, action }));
      if (question.status === "pending" || question.status === "hidden") buttons.push(act(_("Approve"), "approve"));
      if (question.status !== "hidden") buttons.push(act(_("Hide"), "hide"));
      if (open) buttons.push(question.pinned ? act(_("Unpin"), "unpin") : act(_("Pin"), "pin"));
      if (question.status === "visible") buttons.push(act(_("Mark answered"), "answer"));
    }
    return buttons;
  }

  isMine(question) {
    return this.mine.has(question.id) || (question.author !== null && question.author.id === this.room.accountId);
  }

  async upvote(question) {
    const answer = await this.room.call("qa.upvote", { question_id: question.id });
    if (answer.ok || answer.error.code === "qa.already_upvoted") this.upvoted.add(question.id);
    if (!answer.ok) this.say(answer.error.message);
    this.redraw();
  }

  async send(name, payload) {
    const answer = await this.room.call(name, payload);
    if (!answer.ok) this.say(answer.error.message);
  }

  async ask() {
    const fields = this.form.elements;
    const text = fields.text.value.trim();
    if (!text) return;
    this.pending = this.pending || clientId();
    const payload = { session_id: this.room.id, text, anonymous: fields.anonymous.checked, client_id: this.pending };
    const answer = await busy(this.form, () => this.room.call("qa.ask", payload));
    if (!answer.ok) { this.say(answer.error.message); return; }
    this.pending = null;
    this.mine.add(answer.data.question_id);
    this.form.reset();
    this.say(answer.data.status === "pending" ? _("Thank you. Your question will be shown once a moderator approves it.") : _("Your question is in the list."));
    this.redraw();
  }

  say(text) {
    if (this.status) this.status.textContent = text;
  }
}
