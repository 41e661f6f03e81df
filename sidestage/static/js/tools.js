// Tools (resources) a host or moderator launched to the room: each link goes through the
// server, which counts the click for the partner who invited the participant.
import { busy, h, part } from "./dom.js";
import { _, clock } from "./i18n.js";

export class Tools {
  constructor(root, room) {
    this.room = room;
    this.list = part(root, "tools");
    this.empty = part(root, "tools-empty");
    this.tools = new Map();
    const form = part(root, "tool-form");
    form?.addEventListener("submit", (event) => { event.preventDefault(); this.launch(form); });
  }

  entered(tools) {
    this.tools.clear();
    this.list.replaceChildren();
    tools.forEach((tool) => this.add(tool, false));
  }

  add(tool, announce = true) {
    if (this.tools.has(tool.id)) return;
    this.tools.set(tool.id, tool);
    this.list.prepend(h("li", {},
      h("a", { href: tool.link, target: "_blank", rel: "noopener", dir: "auto" }, tool.title),
      " ", h("time", { class: "meta", datetime: tool.at }, clock(tool.at, this.room.zone)),
      tool.description ? h("p", { dir: "auto" }, tool.description) : null));
    if (this.empty) this.empty.hidden = true;
    if (announce) this.room.notice(_("New resource shared: %(title)s", { title: tool.title }));
  }

  async launch(form) {
    const fields = form.elements;
    const payload = { session_id: this.room.id, title: fields.title.value.trim(), url: fields.url.value.trim(), description: fields.description.value.trim() };
    const status = part(form, "tool-form-status");
    const answer = await busy(form, () => this.room.call("tool.launch", payload));
    if (!answer.ok) { status.textContent = answer.error.message; return; }
    form.reset();
    status.textContent = _("Shared with everyone in the room.");
  }
}
