"""Media forwarding for the stage: speakers' camera, microphone and screen to viewers.

Each published track is received by aiortc with its decoder replaced by a hook
(``hooks``, the only module touching aiortc's private API) that hands out encoded
frames. A ``forwarder.Forwarder`` packetizes each frame once and writes it, unbuffered,
to every viewer (``hooks.RtpWriter``, one SRTP copy per viewer): nothing is decoded or
re-encoded on the server. ``peers`` builds the server's connections: it
answers publishers and makes the offer to viewers, forcing the publisher's codec.

Media only: this package imports neither aiohttp nor socketio.
"""
