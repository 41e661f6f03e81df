"""The conference itself: program, people, access and persistence.

Nothing here knows about HTTP requests or Socket.IO: services change state and
raise the errors of ``sidestage.platform.errors``; the transports translate.
"""
