"""Transport: the Socket.IO server, fan-out across processes through Redis, the ticker.

May import ``rooms`` and ``platform``; neither imports this package.
"""
