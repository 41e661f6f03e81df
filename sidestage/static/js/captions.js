// Live captions: each language's lines, the chosen one's latest shown over the stage and
// all of them in a transcript (an ARIA log, read out politely). The choice is kept in
// this browser; in text-only mode captions start on, in the page's language if offered.
import { busy, h, part } from "./dom.js";
import { _, clock, language as pageLanguage } from "./i18n.js";

const KEPT = 200; // lines per language kept on the page
const CHOICE = "sidestage.captions"; // localStorage: the language last chosen, or "off"

export class Captions {
  constructor(root, room) {
    this.room = room;
    this.root = part(root, "captions-part");
    this.lines = new Map(); // language -> [line], oldest first
    this.offered = [];
    this.chosen = "";
    if (!this.root) return;
    this.choice = part(root, "caption-choice");
    this.shown = part(root, "caption-line");
    this.list = part(root, "captions");
    this.empty = part(root, "captions-empty");
    this.form = part(root, "caption-form");
    this.status = part(root, "caption-status");
    part(root, "stage-feeds")?.after(this.shown); // over the stage, where there is one
    this.choice.addEventListener("change", () => this.choose(this.choice.value, true));
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
  }

  // room.enter's whole answer: the offered languages and each one's recent lines.
  entered(recent, languages, mayCaption) {
    if (!this.root) return;
    this.offered = languages.captions;
    this.lines.clear();
    for (const [code, lines] of Object.entries(recent || {})) this.lines.set(code, lines.slice(-KEPT));
    this.form.hidden = !mayCaption;
    this.choose(this.preferred(), false);
  }

  preferred() {
    const stored = localStorage.getItem(CHOICE);
    if (stored === "off") return "";
    if (stored && this.offered.includes(stored)) return stored;
    if (!this.room.root.classList.contains("text-only")) return "";
    return this.offered.includes(pageLanguage) ? pageLanguage : this.offered[0] || "";
  }

  choose(code, remember) {
    this.chosen = code;
    this.choice.value = code;
    if (remember) localStorage.setItem(CHOICE, code || "off");
    this.list.replaceChildren(...(this.lines.get(code) || []).map((line) => this.render(line)));
    this.empty.hidden = !code || this.list.childElementCount > 0;
    const latest = (this.lines.get(code) || []).at(-1);
    this.showLine(latest);
  }

  add(line) {
    if (!this.root) return;
    const lines = this.lines.get(line.language) || [];
    if (lines.some((kept) => kept.id === line.id)) return;
    lines.push(line);
    this.lines.set(line.language, lines.slice(-KEPT));
    if (line.language !== this.chosen) return;
    const log = this.list.parentElement;
    const following = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    this.list.append(this.render(line));
    if (this.list.childElementCount > KEPT) this.list.firstElementChild.remove();
    if (following) log.scrollTop = log.scrollHeight;
    this.empty.hidden = true;
    this.showLine(line);
  }

  render(line) {
    return h("li", { "data-id": line.id, lang: line.language },
      h("time", { class: "meta", datetime: line.at }, clock(line.at, this.room.zone)), " ",
      h("span", { dir: "auto" }, line.text));
  }

  showLine(line) {
    this.shown.hidden = !line;
    this.shown.lang = line ? line.language : "";
    this.shown.textContent = line ? line.text : "";
  }

  async send() {
    const fields = this.form.elements;
    const payload = { session_id: this.room.id, language: fields.language.value, text: fields.text.value.trim() };
    if (!payload.text) return;
    const answer = await busy(this.form, () => this.room.call("caption.send", payload));
    if (!answer.ok) { this.status.textContent = answer.error.message; return; }
    fields.text.value = "";
    fields.text.focus();
    this.status.textContent = "";
  }
}
