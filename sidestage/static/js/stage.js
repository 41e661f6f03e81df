// The stage in the browser: watch every speaker the server forwards, with sound only when
// chosen or when the connection turns poor; publish one's camera and screen when a
// moderator put one on stage; moderators choose who is on stage.
//
// Descriptions are exchanged whole, candidates included (the server takes no trickled
// candidates): each side waits for its ICE gathering to finish before sending.
import { h, part } from "./dom.js";
import { _ } from "./i18n.js";
import { Interpretation } from "./interpretation.js";

const GATHERING_LIMIT_MS = 5000; // past this, send what was gathered
const STATS_EVERY_MS = 5000;
const POOR = { loss: 0.08, rtt: 0.8 }; // fraction of packets lost, round trip in seconds
const POOR_SAMPLES = 2; // consecutive poor samples before falling back to sound only
const CAMERA = { video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } }, audio: true };
const CAMERA_BITRATE = 800_000;

let iceServers = null;

async function rtcConfiguration() {
  if (iceServers === null) {
    try {
      const answer = await fetch("/api/rtc/ice-servers", { credentials: "same-origin" });
      iceServers = answer.ok ? (await answer.json()).ice_servers : [];
    } catch {
      iceServers = [];
    }
  }
  return { iceServers };
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHERING_LIMIT_MS);
  });
}

// One publication received: its peer connection and the element playing it.
export class Watch {
  constructor(stage, publication, audioOnly) {
    this.stage = stage;
    this.publication = publication;
    this.audioOnly = audioOnly;
    this.id = null;
    this.pc = null;
    this.poorSamples = 0;
    this.lastCounts = null;
    this.media = h(audioOnly ? "audio" : "video", { autoplay: true, playsinline: true, "data-publication": publication.id, "data-kind": audioOnly ? "audio" : "video" });
    this.figure = h("figure", { class: "stage-feed" }, this.media,
      h("figcaption", { dir: "auto" }, stage.describe(publication)));
  }

  async start() {
    const room = this.stage.room;
    const offered = await room.call("stage.watch", { session_id: room.id, publication_id: this.publication.id, audio_only: this.audioOnly });
    if (!offered.ok) return offered;
    this.id = offered.data.watch_id;
    this.pc = new RTCPeerConnection(await rtcConfiguration());
    this.pc.addEventListener("connectionstatechange", () => {
      if (this.pc.connectionState === "failed") this.stage.interrupted(this);
    });
    const stream = new MediaStream();
    this.pc.addEventListener("track", (event) => { stream.addTrack(event.track); this.media.srcObject = stream; this.play(); });
    await this.pc.setRemoteDescription({ type: "offer", sdp: offered.data.sdp });
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await gathered(this.pc);
    const answered = await room.call("stage.answer", { session_id: room.id, watch_id: this.id, sdp: this.pc.localDescription.sdp });
    if (!answered.ok) this.close();
    return answered;
  }

  play() {
    this.media.play().catch(() => {
      // Autoplay with sound was refused: one click starts it.
      const button = h("button", { type: "button", onclick: () => { button.remove(); this.media.play(); } }, _("Play the stage"));
      this.figure.append(button);
    });
  }

  // Loss and round trip since the last sample: is this connection too poor for video?
  async poor() {
    if (!this.pc || this.audioOnly) return false;
    let received = 0, lost = 0, rtt = 0;
    (await this.pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp" && report.kind === "video") { received += report.packetsReceived || 0; lost += report.packetsLost || 0; }
      if (report.type === "candidate-pair" && report.nominated && report.currentRoundTripTime) rtt = report.currentRoundTripTime;
    });
    const previous = this.lastCounts || { received: 0, lost: 0 };
    this.lastCounts = { received, lost };
    const got = received - previous.received, missed = lost - previous.lost;
    const loss = got + missed > 0 ? missed / (got + missed) : 0;
    this.poorSamples = loss > POOR.loss || rtt > POOR.rtt ? this.poorSamples + 1 : 0;
    return this.poorSamples >= POOR_SAMPLES;
  }

  close(tellServer = false) {
    if (tellServer && this.id) {
      const room = this.stage.room;
      room.call("stage.leave", { session_id: room.id, watch_id: this.id });
    }
    this.pc?.close();
    this.figure.remove();
  }
}

// What this browser sends: a camera (with microphone) or a screen.
class Sending {
  constructor(stage, source) {
    this.stage = stage;
    this.source = source;
    this.id = null;
    this.pc = null;
    this.stream = null;
  }

  async start() {
    const room = this.stage.room;
    this.stream = this.source === "screen"
      ? await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })
      : await navigator.mediaDevices.getUserMedia(CAMERA);
    this.pc = new RTCPeerConnection(await rtcConfiguration());
    for (const track of this.stream.getTracks()) {
      const sender = this.pc.addTransceiver(track, { direction: "sendonly", streams: [this.stream] }).sender;
      if (track.kind === "video" && this.source === "camera") this.limit(sender);
      track.addEventListener("ended", () => this.stop()); // the browser's own button to stop sharing
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await gathered(this.pc);
    const answer = await room.call("stage.publish", { session_id: room.id, source: this.source, sdp: this.pc.localDescription.sdp });
    if (!answer.ok) { this.release(); return answer; }
    this.id = answer.data.publication_id;
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer.data.sdp });
    return answer;
  }

  limit(sender) {
    const parameters = sender.getParameters();
    if (!parameters.encodings || !parameters.encodings.length) parameters.encodings = [{}];
    parameters.encodings[0].maxBitrate = CAMERA_BITRATE;
    sender.setParameters(parameters).catch(() => {}); // a browser without it sends its default
  }

  stop() {
    if (this.id) {
      const room = this.stage.room;
      room.call("stage.unpublish", { session_id: room.id, publication_id: this.id });
      this.id = null;
    }
    this.release();
    this.stage.sendingStopped(this);
  }

  release() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.pc?.close();
  }
}

export class Stage {
  constructor(root, room) {
    this.room = room;
    this.root = part(root, "stage-live");
    this.enabled = Boolean(this.root) && "RTCPeerConnection" in window;
    this.watches = new Map(); // publication id -> Watch
    this.sending = new Map(); // source -> Sending
    this.speakers = [];
    this.publications = [];
    this.refusedIds = new Set();
    if (!this.enabled) return;
    this.interpretation = new Interpretation(root, this);
    this.feeds = part(root, "stage-feeds");
    this.status = part(root, "stage-status");
    this.audioOnly = part(root, "stage-audio-only");
    this.audioOnly.addEventListener("change", () => this.rewatch());
    this.wireSpeakerControls(root);
    this.wireLineup(root);
    setInterval(() => this.checkConnection(), STATS_EVERY_MS);
  }

  describe(publication) {
    const speaker = this.speakers.find((s) => s.account_id === publication.account_id);
    const name = speaker ? speaker.name : "";
    return publication.source === "screen" ? _("Screen of %(name)s", { name }) : name;
  }

  // Also after a reconnect: the server ended what the old connection watched and sent.
  entered(stage, moderation) {
    if (!this.enabled) return;
    this.candidates = moderation ? moderation.stage_candidates : [];
    this.watches.forEach((watch) => watch.close());
    this.watches.clear();
    if (this.sending.size) {
      this.sending.forEach((sending) => sending.release());
      this.sending.clear();
      this.status.textContent = _("The connection dropped and your camera stopped. Start it again.");
    }
    this.changed(stage);
  }

  configuration() {
    return rtcConfiguration();
  }

  gatheredFor(pc) {
    return gathered(pc);
  }

  changed(stage) {
    if (!this.enabled) return;
    this.speakers = stage.speakers;
    // Interpretation channels are not feeds: one hears them on a feed's sound (stage.listen).
    this.publications = stage.publications.filter((p) => p.source !== "interpretation");
    part(this.root, "stage-recording").hidden = !stage.recording;
    this.showLineup();
    this.sync();
    this.interpretation.changed(stage.publications);
  }

  // Watch what is published and not yet watched; drop what ended.
  sync() {
    const live = new Set(this.publications.map((p) => p.id));
    // One's own camera is announced before its publish is answered: known by its source.
    const own = (p) => p.account_id === this.room.accountId && this.sending.has(p.source);
    for (const [id, watch] of this.watches) {
      if (!live.has(id)) { watch.close(); this.watches.delete(id); }
    }
    for (const publication of this.publications) {
      const wanted = !this.watches.has(publication.id) && !own(publication) && !this.refusedIds.has(publication.id);
      if (wanted) this.watch(publication, this.audioOnly.checked);
    }
    part(this.root, "stage-empty").hidden = this.publications.length > 0;
  }

  async watch(publication, audioOnly) {
    const watch = new Watch(this, publication, audioOnly);
    this.watches.set(publication.id, watch);
    this.feeds.append(watch.figure);
    const answer = await watch.start().catch(() => ({ ok: false, error: { code: "stage.failed", message: _("The stage could not be played here.") } }));
    if (answer.ok) { this.interpretation.follow(watch, true); return; }
    watch.close();
    this.watches.delete(publication.id);
    this.refused(answer.error, publication);
  }

  refused(error, publication) {
    this.status.replaceChildren(error.message);
    const instead = (error.details && error.details.instead) || [];
    if (instead.includes("audio")) {
      this.status.append(" ", h("button", { type: "button", onclick: () => { this.audioOnly.checked = true; this.rewatch(); } }, _("Listen with sound only")));
    }
    const stream = part(this.root.parentElement, "stream-link");
    if (instead.includes("stream") && stream) {
      this.status.append(" ", h("a", { href: stream.href, target: "_blank", rel: "noopener" }, _("Open the stream in a new tab")));
    }
    this.refusedIds.add(publication.id); // not asked again until the viewer chooses
  }

  interrupted(watch) {
    if (this.watches.get(watch.publication.id) !== watch) { watch.close(true); return; } // one beneath
    watch.close(true);
    this.watches.delete(watch.publication.id);
    this.refusedIds.add(watch.publication.id);
    this.status.replaceChildren(_("The stage was interrupted."), " ",
      h("button", { type: "button", onclick: () => this.rewatch() }, _("Try again")));
  }

  rewatch() {
    this.status.replaceChildren();
    this.refusedIds.clear();
    for (const watch of this.watches.values()) watch.close(true);
    this.watches.clear();
    this.sync();
  }

  async checkConnection() {
    if (this.audioOnly.checked) return;
    for (const watch of this.watches.values()) {
      if (await watch.poor()) {
        this.audioOnly.checked = true;
        this.rewatch();
        this.status.textContent = _("Your connection is weak: the stage plays sound only. Untick the box to try video again.");
        return;
      }
    }
  }

  // Speakers

  wireSpeakerControls(root) {
    this.speakerControls = part(root, "stage-speaker");
    for (const source of ["camera", "screen"]) {
      part(root, `stage-start-${source}`)?.addEventListener("click", () => this.send(source));
    }
    part(root, "stage-stop")?.addEventListener("click", () => [...this.sending.values()].forEach((s) => s.stop()));
  }

  async send(source) {
    if (this.sending.has(source)) return;
    const sending = new Sending(this, source);
    this.sending.set(source, sending);
    this.showSending();
    const answer = await sending.start().catch((error) => ({ ok: false, error: { message: error.name === "NotAllowedError" ? _("The browser was not allowed to use the camera or the screen.") : _("The camera or the screen could not be started.") } }));
    if (!answer.ok) {
      this.sending.delete(source);
      this.status.textContent = answer.error.message;
    }
    this.showSending();
  }

  sendingStopped(sending) {
    this.sending.delete(sending.source);
    this.showSending();
  }

  showSending() {
    const onStage = this.speakers.some((s) => s.account_id === this.room.accountId);
    if (!onStage) [...this.sending.values()].forEach((s) => s.release());
    if (!onStage) this.sending.clear();
    this.speakerControls.hidden = !onStage;
    part(this.speakerControls, "stage-start-camera").disabled = this.sending.has("camera");
    part(this.speakerControls, "stage-start-screen").disabled = this.sending.has("screen") || !navigator.mediaDevices?.getDisplayMedia;
    part(this.speakerControls, "stage-stop").disabled = this.sending.size === 0;
  }

  // Moderators: the lineup

  wireLineup(root) {
    this.lineupForm = part(root, "stage-lineup-form");
    this.lineupForm?.addEventListener("submit", async (event) => {
      event.preventDefault();
      const chosen = Number(this.lineupForm.elements.account.value);
      if (!chosen) return;
      const answer = await this.room.call("stage.put_on", { session_id: this.room.id, account_id: chosen });
      if (!answer.ok) this.status.textContent = answer.error.message;
    });
  }

  showLineup() {
    const list = part(this.root, "stage-speakers");
    const moderator = this.room.moderator;
    list.replaceChildren(...this.speakers.map((speaker) => h("li", {}, h("bdi", {}, speaker.name),
      moderator ? [" ", h("button", { type: "button", onclick: () => this.takeOff(speaker) }, _("Take off the stage"))] : null)));
    part(this.root, "stage-nobody").hidden = this.speakers.length > 0;
    this.showSending();
    if (!this.lineupForm) return;
    this.lineupForm.hidden = !moderator;
    const choice = this.lineupForm.elements.account;
    const onStage = new Set(this.speakers.map((s) => s.account_id));
    const offered = (this.candidates || []).filter((c) => !onStage.has(c.account_id));
    if (!onStage.has(this.room.accountId)) offered.unshift({ account_id: this.room.accountId, name: _("Myself") });
    choice.replaceChildren(...offered.map((c) => h("option", { value: c.account_id }, c.name)));
    this.lineupForm.querySelector("[type=submit]").disabled = offered.length === 0;
  }

  async takeOff(speaker) {
    const answer = await this.room.call("stage.take_off", { session_id: this.room.id, account_id: speaker.account_id });
    if (!answer.ok) this.status.textContent = answer.error.message;
  }
}
