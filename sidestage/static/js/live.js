// The connection to the live rooms: the official Socket.IO client, which reconnects by
// itself with backoff; commands answer {ok, data} or {ok: false, error}.
import { io } from "../vendor/socket.io.esm.min.js";
import { _ } from "./i18n.js";

const ANSWER_WITHIN = 20000; // ms; a slow 3G link with a reconnect in between fits in it

export function connect() {
  // The session cookie identifies the browser; no token is kept in JavaScript.
  return io({ withCredentials: true });
}

const TIMED_OUT = { ok: false, error: { code: "client.timeout", message: _("The server did not answer in time. Try again.") } };

// Opens when the room is entered on the current connection, closes when the connection
// drops: commands wait at the gate instead of reaching a new connection before room.enter.
export class Gate {
  constructor() {
    this.isOpen = false;
    this.opened = new Promise((resolve) => { this.release = resolve; });
  }

  open() {
    this.isOpen = true;
    this.release();
  }

  close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.opened = new Promise((resolve) => { this.release = resolve; });
  }

  // Resolves true once open, or false if it stays closed for the whole wait.
  pass(within = ANSWER_WITHIN) {
    return Promise.race([this.opened.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), within))]);
  }
}

export async function commandThrough(gate, socket, name, payload) {
  return (await gate.pass()) ? command(socket, name, payload) : TIMED_OUT;
}

export function command(socket, name, payload) {
  return new Promise((resolve) => {
    socket.timeout(ANSWER_WITHIN).emit(name, payload, (late, answer) => {
      if (late) {
        resolve(TIMED_OUT);
      } else {
        // Acks speak English; the catalog that came with the page has their translations.
        if (!answer.ok) answer.error.message = _(answer.error.message);
        resolve(answer);
      }
    });
  });
}

// A short, unique id per message or question, so a resend after a drop is not posted twice.
export function clientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Shows the connection's state in a status region: screen readers hear it once.
export function watchConnection(socket, status) {
  const show = (text) => { status.textContent = text; status.hidden = !text; };
  socket.on("connect", () => show(""));
  socket.on("disconnect", () => show(_("Connection lost. Reconnecting…")));
  socket.io.on("reconnect_attempt", () => show(_("Connection lost. Reconnecting…")));
  socket.on("connect_error", (error) => {
    if (error && error.data && error.data.code) {
      show(error.data.message ? _(error.data.message) : _("You cannot join this room."));
    } else {
      show(_("Connection lost. Reconnecting…"));
    }
  });
}
