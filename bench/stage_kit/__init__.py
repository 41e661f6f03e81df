"""The parts of ``bench/stage.py``, the stage media fan-out benchmark (its docstring says how).

- ``common``: the settings, types and error every part shares;
- ``aiortc_patches``: every use of aiortc's (and aioice's) private API;
- ``child_processes``: the JSON-lines protocol between the parent and its children;
- ``synthetic_media``, ``publisher``, ``server``, ``viewers``: the children's roles;
- ``viewer_pool``: the viewers spread over several processes;
- ``latency``: matching frame logs into per-hop latency;
- ``plans``, ``stage_run``, ``rows``: what is measured, how one setup runs, one table row;
- ``report``: the table, the summary and the machine description.
"""
