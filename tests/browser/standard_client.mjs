// The official Socket.IO JavaScript client, in Node: enters a room, waits for one chat
// message. Used by tests/test_fanout.py: argv is url, token, session id, expected text.
// Prints "entered" once in the room, then the message as JSON; exits 1 on any failure.
import { io } from "socket.io-client";

const [url, token, sessionId, expected] = process.argv.slice(2);
const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
const fail = (why) => {
  console.log(JSON.stringify({ error: String(why) }));
  process.exit(1);
};
setTimeout(() => fail("timed out"), 20000);
socket.on("connect_error", fail);
socket.on("chat.posted", (message) => {
  if (message.text !== expected) return;
  console.log(JSON.stringify(message));
  socket.close();
  process.exit(0);
});
socket.on("connect", async () => {
  const entered = await socket.emitWithAck("room.enter", { session_id: Number(sessionId) });
  if (!entered.ok) fail(JSON.stringify(entered));
  console.log("entered");
});
