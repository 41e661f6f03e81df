"""The parts of ``bench/fanout.py``, the Socket.IO fan-out benchmark (its docstring says how).

- ``wire``: the Engine.IO 4 / Socket.IO 5 client protocol over a raw websocket;
- ``clients``: the load generator's child role, many connections in one process;
- ``servers``: starting Sidestage and the two references, and reading their CPU;
- ``raw_server``: the raw aiohttp reference (frames built once, written to transports);
- ``node/``: the Node.js socket.io reference (``server.js``, pinned by its lock file);
- ``phases``: join storm, fan-out capacity and latency, with their checks.
"""
