"""The client role: the editor's software calls SAS. The mirror image of ``server``.

``mock`` plays the SAS platform (normal and hostile), ``presentation`` is what it writes down per
connection, ``appointments`` its FHIR side; ``drivers`` make the editor's client call it (the embedded
``reference`` client, a configured command, or a hand-triggered wait); ``rules`` judge what arrived.
"""
