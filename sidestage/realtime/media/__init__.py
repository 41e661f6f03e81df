"""Media forwarding for the stage: speakers' camera, microphone and screen to viewers.

Each published track is received by aiortc with its decoder replaced by a hook
(``accel.receiving``; ``accel`` holds everything that touches aiortc's, aioice's and
pylibsrtp's private code) that hands out encoded frames. A ``forwarder.Forwarder``
packetizes each frame once (``packing``) and writes it, unbuffered, to every viewer
(``accel.rtp_writer.RtpWriter``, one SRTP copy per viewer): nothing is decoded or
re-encoded on the server. ``peers`` builds the server's connections: it
answers publishers and makes the offer to viewers, forcing the publisher's codec.

Media only: this package imports neither aiohttp nor socketio.
"""
