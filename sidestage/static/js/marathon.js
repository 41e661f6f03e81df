// The marathon board, live: people in each room every second for signed-in viewers, and
// the board itself fetched again each minute so sessions move from next to now.
import { pageData } from "./dom.js";
import { _, number } from "./i18n.js";

const REFRESH_EVERY = 60000; // ms

function showCounts(counts) {
  document.querySelectorAll("[data-count-for]").forEach((badge) => {
    const people = counts[badge.dataset.countFor] || 0;
    badge.textContent = _("People here: %(count)s", { count: number(people) });
  });
}

async function refreshBoard() {
  const response = await fetch(location.href, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html").getElementById("board");
  const board = document.getElementById("board");
  // Keep the keyboard user's place: only swap when focus is not inside the board.
  if (fresh && board && !board.contains(document.activeElement)) board.replaceWith(fresh);
}

async function start() {
  const config = pageData("sidestage-config");
  if (config.account_id) {
    // Only signed-in viewers can watch the counts: only they load the Socket.IO client.
    const { command, connect } = await import("./live.js");
    const socket = connect();
    socket.on("connect", () => command(socket, "marathon.watch", {}));
    socket.on("marathon.counts", (data) => showCounts(data.counts));
  }
  setInterval(refreshBoard, REFRESH_EVERY);
}

start();
