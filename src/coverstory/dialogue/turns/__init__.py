"""The act handlers of the dialogue's turn loop (``engine.DialogueEngine``), one concern a
module, each a mixin of the engine's methods:

* ``request.py``: a request for books (parse, update the state, recommend);
* ``about.py``: a question about a book shown or named (ask, explain, compare);
* ``lookup.py``: a title or author looked up ("do you have X?", "X by Y");
* ``series.py``: a series in order, the next or the previous book;
* ``feedback.py``: likes, dislikes and "read" in words or buttons;
* ``recommending.py``: the books decided by the policy and the reply shaped around them.

The mixins use the engine's parts (``index``, ``nlu``, ``signals``, ``catalog``, ``k``)
and call one another through ``self``, so no handler module imports another's class.
"""
