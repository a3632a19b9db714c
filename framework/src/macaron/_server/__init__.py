"""The request path: a loaded Service becomes a WSGI app and is served.

What lives here, in the order a request meets it (:data:`.pipeline.STAGES` writes it once):
``serve`` (gunicorn's arbiter; the ``front`` that reads each request, or gthread and its ``edge``
refusals) → ``dispatch`` (request id, route, Flask's request context) → ``body`` → ``security`` →
``validation`` → the handler → ``responses`` → ``errors`` (in ``_core``); and the built-ins
(``builtins``, ``authroutes``) every service serves.
``app`` assembles them into the Flask app.

Rule: ``_server`` may import ``_core``, ``store``, ``auth``, ``clients`` and ``tasks``; never
``testing``, ``_local``, ``deploy`` or ``_cli`` (checked by ``contracts/test_layers.py``).
"""
