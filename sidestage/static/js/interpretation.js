// Interpretation on the stage. A listener chooses a language: each feed's sound then comes
// from that language's channel on air (stage.listen), on the same connection, or from the
// floor when no interpreter is on air. The choice is kept in this browser. An interpreter
// publishes their microphone for one language; one who joins a language already on air
// stands by until they take over. Under an interpretation, the listener may keep the
// original playing softly: a second, sound-only watch of the same feed, never switched.
import { part } from "./dom.js";
import { _ } from "./i18n.js";
import { Watch } from "./stage.js";

const CHOICE = "sidestage.listen"; // localStorage: the language last chosen ("" the floor)
const MICROPHONE = { audio: { echoCancellation: true, noiseSuppression: true }, video: false };
const UNDER = "sidestage.listen.under"; // localStorage: "off" to hear the interpretation alone
const UNDER_VOLUME = 0.2; // the original beneath an interpretation

export class Interpretation {
  constructor(root, stage) {
    this.stage = stage;
    this.picker = part(root, "stage-language");
    this.status = part(root, "stage-language-status");
    this.controls = part(root, "stage-interpreter");
    this.channels = []; // the interpretation publications of the room
    this.heard = new WeakMap(); // watch -> the channel id its sound comes from (null: the floor)
    this.under = new Map(); // publication id -> its sound-only watch playing beneath
    this.underChoice = part(root, "stage-language-under");
    this.sending = null; // { language, pc, stream, id }
    if (!this.picker) return;
    const stored = localStorage.getItem(CHOICE) || "";
    if ([...this.picker.options].some((option) => option.value === stored)) this.picker.value = stored;
    this.picker.addEventListener("change", () => {
      localStorage.setItem(CHOICE, this.picker.value);
      this.stage.watches.forEach((watch) => this.follow(watch, true));
    });
    if (this.underChoice) {
      this.underChoice.checked = localStorage.getItem(UNDER) !== "off";
      this.underChoice.addEventListener("change", () => {
        localStorage.setItem(UNDER, this.underChoice.checked ? "on" : "off");
        this.stage.watches.forEach((watch) => this.softly(watch, this.heard.get(watch) != null));
      });
    }
    part(root, "stage-interpret-start")?.addEventListener("click", () => this.start());
    part(root, "stage-interpret-take-over")?.addEventListener("click", () => this.takeOver());
    part(root, "stage-interpret-stop")?.addEventListener("click", () => this.stop());
  }

  get language() {
    return this.picker ? this.picker.value || null : null;
  }

  entered(mayInterpret) {
    if (this.controls) this.controls.hidden = !mayInterpret;
    this.under.forEach((watch) => watch.close());  // the server ended them with the old connection
    this.under.clear();
    if (this.sending) this.release(_("The connection dropped and your channel stopped. Start it again."));
  }

  // stage.changed: which channels are on air now; follow a change in the chosen language.
  changed(publications) {
    this.channels = publications.filter((p) => p.source === "interpretation");
    this.stage.watches.forEach((watch) => this.follow(watch, false));
    for (const [id, watch] of this.under) {
      if (!this.stage.watches.has(id)) { watch.close(true); this.under.delete(id); }
    }
    this.showSending();
  }

  onAir(language) {
    return this.channels.find((p) => p.language === language && p.on_air) || null;
  }

  // Ask for the chosen language on this watch's sound, unless it already comes from there.
  async follow(watch, chosenNow) {
    if (!this.picker || !watch.id || watch.publication.source === "interpretation") return;
    const channel = this.language ? this.onAir(this.language) : null;
    const wanted = channel ? channel.id : null;
    if (!chosenNow && this.heard.has(watch) && this.heard.get(watch) === wanted) return;
    this.heard.set(watch, wanted);
    const room = this.stage.room;
    const answer = await room.call("stage.listen", { session_id: room.id, watch_id: watch.id, language: this.language });
    if (!answer.ok) { this.status.textContent = answer.error.message; return; }
    this.softly(watch, answer.data.on_air);
    const name = this.picker.selectedOptions[0]?.textContent || "";
    this.status.textContent = !this.language ? ""
      : answer.data.on_air ? _("You hear the interpretation into %(language)s.", { language: name })
        : _("No interpreter is on air in %(language)s now: you hear the original.", { language: name });
  }

  // The original beneath an interpretation being heard, if the listener keeps it; none
  // in sound-only mode, where the channel is heard alone.
  async softly(watch, interpreted) {
    const id = watch.publication.id;
    const wanted = interpreted && !watch.audioOnly && this.underChoice?.checked;
    const existing = this.under.get(id);
    if (!wanted) { existing?.close(true); this.under.delete(id); return; }
    if (existing || !watch.publication.kinds.includes("audio")) return;
    const under = new Watch(this.stage, watch.publication, true);
    under.media.volume = UNDER_VOLUME;
    under.media.dataset.under = "";
    under.figure.hidden = true;
    this.under.set(id, under);
    this.stage.feeds.append(under.figure);
    const answer = await under.start().catch(() => ({ ok: false }));
    if (!answer.ok) { under.close(); this.under.delete(id); }
  }

  // Interpreters

  async start() {
    if (this.sending) return;
    const language = this.controls.querySelector("select[name=language]").value;
    const status = part(this.controls, "stage-interpret-status");
    try {
      const stream = await navigator.mediaDevices.getUserMedia(MICROPHONE);
      const pc = new RTCPeerConnection(await this.stage.configuration());
      stream.getTracks().forEach((track) => pc.addTransceiver(track, { direction: "sendonly", streams: [stream] }));
      this.sending = { language, pc, stream, id: null };
      await pc.setLocalDescription(await pc.createOffer());
      await this.stage.gatheredFor(pc);
      const room = this.stage.room;
      const answer = await room.call("stage.publish", { session_id: room.id, source: "interpretation", language, sdp: pc.localDescription.sdp });
      if (!answer.ok) { this.release(answer.error.message); return; }
      this.sending.id = answer.data.publication_id;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.data.sdp });
    } catch (error) {
      this.release(error.name === "NotAllowedError" ? _("The browser was not allowed to use the microphone.") : _("The microphone could not be started."));
      return;
    }
    status.textContent = "";
    this.showSending();
  }

  async takeOver() {
    if (!this.sending?.id) return;
    const room = this.stage.room;
    const answer = await room.call("stage.take_over", { session_id: room.id, publication_id: this.sending.id });
    if (!answer.ok) part(this.controls, "stage-interpret-status").textContent = answer.error.message;
  }

  stop() {
    if (this.sending?.id) {
      const room = this.stage.room;
      room.call("stage.unpublish", { session_id: room.id, publication_id: this.sending.id });
    }
    this.release("");
  }

  release(message) {
    this.sending?.stream.getTracks().forEach((track) => track.stop());
    this.sending?.pc.close();
    this.sending = null;
    if (this.controls) part(this.controls, "stage-interpret-status").textContent = message;
    this.showSending();
  }

  showSending() {
    if (!this.controls) return;
    const mine = this.sending?.id ? this.channels.find((p) => p.id === this.sending.id) : null;
    part(this.controls, "stage-interpret-start").disabled = Boolean(this.sending);
    part(this.controls, "stage-interpret-stop").disabled = !this.sending;
    part(this.controls, "stage-interpret-take-over").hidden = !mine || mine.on_air;
    if (mine) {
      part(this.controls, "stage-interpret-status").textContent = mine.on_air
        ? _("You are on air.") : _("You are standing by: another interpreter is on air in this language.");
    }
  }
}
