"""``backprop86 serve``: a local web page that trains a network in front of you.

A client of the library, like :mod:`backprop86.cli` (DESIGN §6): nothing below imports it.
It needs the optional ``ui`` extra (Starlette and uvicorn).

* :mod:`.setup` — what a page asks to train (its *setup*), checked, as an experiment table;
* :mod:`.training` — one experiment trained chunk by chunk by the library's ``Trainer``;
* :mod:`.views` — the network's shape and one frame of a run, as JSON for the page;
* :mod:`.session` — one page's run, its trace, its many-seeds sweep, its exports;
* :mod:`.guard` — the ``Host`` and ``Origin`` checks; :mod:`.limits` — every size a page
  may ask for;
* :mod:`.app` — the HTTP routes and the WebSocket; :mod:`.toml_text` — TOML out;
* ``static/`` — the page itself: plain HTML, CSS and JavaScript, drawn on canvases,
  nothing fetched from elsewhere.
"""
