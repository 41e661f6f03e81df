// Polls: participants vote in open polls and see results as each poll allows;
// moderators also see drafts, open and close polls and always see the tallies.
import { busy, h, part } from "./dom.js";
import { _, number, percent } from "./i18n.js";

export class Polls {
  constructor(root, room) {
    this.room = room;
    this.list = part(root, "polls");
    this.empty = part(root, "polls-empty");
    this.polls = new Map(); // id -> {poll, own, tally}
    const create = part(root, "poll-form");
    create?.addEventListener("submit", (event) => { event.preventDefault(); this.create(create); });
  }

  entered(open, moderation) {
    this.polls.clear();
    const drafts = moderation ? moderation.polls : [];
    [...drafts, ...open].forEach((poll) => this.polls.set(poll.poll_id, { poll, own: poll.own ?? null, tally: poll.tally ?? null }));
    this.redraw();
  }

  has(pollId) {
    return this.polls.has(pollId);
  }

  upsert(poll) {
    const known = this.polls.get(poll.poll_id);
    this.polls.set(poll.poll_id, { poll, own: known?.own ?? null, tally: known?.tally ?? null });
    this.redraw();
  }

  closed(pollId) {
    const known = this.polls.get(pollId);
    if (!known) return;
    known.poll = { ...known.poll, status: "closed" };
    this.redraw();
  }

  results(tally) {
    const known = this.polls.get(tally.poll_id);
    if (!known) return;
    // Processes publish tallies independently, so an older one may arrive last: keep
    // the newest (each vote moves the version on).
    if (known.tally && tally.version < known.tally.version) return;
    known.tally = tally;
    // Tallies tick up to four times a second: only the results are redrawn, so the
    // ballot being filled in keeps its state.
    const shown = this.list.querySelector(`[data-poll="${tally.poll_id}"] .results`);
    if (shown) shown.replaceWith(this.resultsOf(known.poll, tally));
    else this.redraw();
  }

  redraw() {
    for (const [id, entry] of this.polls) {
      const existing = this.list.querySelector(`[data-poll="${id}"]`);
      const fresh = this.render(entry);
      if (existing) {
        existing.replaceWith(fresh);
      } else {
        this.list.prepend(fresh);
      }
    }
    for (const node of this.list.querySelectorAll("[data-poll]")) {
      if (!this.polls.has(Number(node.dataset.poll))) node.remove();
    }
    if (this.empty) this.empty.hidden = this.polls.size > 0;
  }

  render({ poll, own, tally }) {
    const heading = h("h3", { dir: "auto", id: `poll${poll.poll_id}` }, poll.question);
    const state = poll.status === "open" ? null : h("p", { class: "tag" }, poll.status === "draft" ? _("Draft") : _("Closed"));
    const who = poll.signed_in_only ? h("p", { class: "meta" }, _("Only signed-in participants vote in this poll.")) : null;
    return h("article", { class: "poll", "data-poll": poll.poll_id, "aria-labelledby": `poll${poll.poll_id}` },
      heading, state, who,
      poll.status === "open" && !this.room.console ? this.ballot(poll, own) : null,
      this.resultsOf(poll, tally),
      this.room.moderator ? this.controls(poll) : null);
  }

  ballot(poll, own) {
    const kind = poll.multiple ? "checkbox" : "radio";
    const chosen = new Set(own || []);
    const options = poll.options.map((option, index) => h("label", { class: "choice" },
      h("input", { type: kind, name: "choice", value: index, checked: chosen.has(index) }), " ",
      h("span", { dir: "auto" }, option)));
    const status = h("p", { role: "status", class: "meta" }, own ? _("Your vote is counted. You may change it while the poll is open.") : "");
    const form = h("form", { class: "ballot" },
      h("fieldset", {}, h("legend", { class: "visually-hidden" }, poll.question), options),
      h("button", { type: "submit" }, own ? _("Change my vote") : _("Vote")), status);
    form.addEventListener("submit", (event) => { event.preventDefault(); this.vote(poll, form, status); });
    return form;
  }

  async vote(poll, form, status) {
    const choices = [...form.querySelectorAll("input:checked")].map((input) => Number(input.value));
    if (!choices.length) { status.textContent = _("Choose an option first."); return; }
    const answer = await busy(form, () => this.room.call("poll.vote", { poll_id: poll.poll_id, choices }));
    if (!answer.ok) { status.textContent = answer.error.message; return; }
    this.polls.get(poll.poll_id).own = answer.data.choices;
    status.textContent = _("Your vote is counted. You may change it while the poll is open.");
    form.querySelector("button[type=submit]").textContent = _("Change my vote");
  }

  resultsOf(poll, tally) {
    if (!tally) {
      const later = poll.results === "after_close" ? _("Results are shown when the poll closes.") : poll.results === "after_vote" ? _("Results are shown once you vote.") : "";
      return h("div", { class: "results" }, later ? h("p", { class: "meta" }, later) : null);
    }
    const total = tally.counts.reduce((sum, count) => sum + count, 0) || 1;
    const rows = poll.options.map((option, index) => {
      const count = tally.counts[index] || 0;
      const bar = h("span", { class: "bar", "aria-hidden": "true" });
      bar.style.inlineSize = `${Math.round((100 * count) / total)}%`;
      return h("li", {}, h("span", { dir: "auto" }, option), " ",
        h("span", { class: "meta" }, _("Votes: %(votes)s (%(share)s)", { votes: number(count), share: percent(count / total) })), bar);
    });
    return h("div", { class: "results" },
      h("p", { class: "meta" }, _("Results: %(voters)s voted", { voters: number(tally.voters) })),
      h("ul", { class: "tally" }, rows));
  }

  controls(poll) {
    const act = (label, name) => h("button", { type: "button", onclick: () => this.moderate(name, poll) }, label);
    const buttons = poll.status === "open" ? [act(_("Close poll"), "poll.close")]
      : poll.status === "draft" ? [act(_("Open poll"), "poll.open")] : [act(_("Reopen poll"), "poll.open")];
    const csv = h("a", { href: `/api/polls/${poll.poll_id}/results.csv` }, _("Results as CSV"));
    return h("p", { class: "actions" }, buttons, " ", csv);
  }

  async moderate(name, poll) {
    const answer = await this.room.call(name, { poll_id: poll.poll_id });
    if (!answer.ok) this.room.notice(answer.error.message);
  }

  async create(form) {
    const fields = form.elements;
    const options = fields.options.value.split("\n").map((line) => line.trim()).filter(Boolean);
    const payload = { session_id: this.room.id, question: fields.question.value.trim(), options,
      multiple: fields.multiple.checked, signed_in_only: fields.signed_in_only.checked,
      results: fields.results.value };
    const status = part(form, "poll-form-status");
    const answer = await busy(form, () => this.room.call("poll.create", payload));
    if (!answer.ok) { status.textContent = answer.error.message; return; }
    form.reset();
    status.textContent = _("The poll is ready as a draft. Open it when the room should vote.");
  }
}
