// The reference: a minimal socket.io 4.8 server with the commands the load generator
// uses, named as Sidestage names them. `room.enter` joins a room; `chat.send` broadcasts
// `chat.posted` to it; `poll.vote` counts a vote and, at most every 100 ms, broadcasts
// `poll.results_changed`. There are no polls to create: a poll id names its room.
// Compression off, as Sidestage's fast path. Port from argv.
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
const http = createServer();
const io = new Server(http, { perMessageDeflate: false, transports: ["websocket"] });
const tallies = new Map();
const dirty = new Set();

io.on("connection", (socket) => {
  socket.on("room.enter", (payload, ack) => {
    socket.join(String(payload.session_id));
    ack({ ok: true, data: { session_id: payload.session_id } });
  });
  socket.on("chat.send", (payload, ack) => {
    io.to(String(payload.session_id)).emit("chat.posted", { text: payload.text });
    ack({ ok: true, data: {} });
  });
  socket.on("poll.vote", (payload, ack) => {
    const room = String(payload.poll_id);
    const tally = tallies.get(room) ?? [0, 0];
    tally[payload.choices[0]] += 1;
    tallies.set(room, tally);
    dirty.add(room);
    ack({ ok: true, data: {} });
  });
});

setInterval(() => {
  for (const room of dirty) {
    const counts = tallies.get(room);
    io.to(room).emit("poll.results_changed", {
      poll_id: Number(room),
      voters: counts[0] + counts[1],
      counts,
    });
  }
  dirty.clear();
}, 100);

// The same accept queue as `sidestage serve` (sidestage/cli.py, LISTEN_BACKLOG): the join
// storm then compares the servers, not the kernel's queue (Node's default is 511).
http.listen(port, "127.0.0.1", 2048, () => console.log("ready"));
