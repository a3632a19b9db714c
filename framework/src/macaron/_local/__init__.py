"""What exists only on a developer's machine: the dev supervisor (``macaron dev``), the private
redis-server, fakes of any spec, port choice and the checks that keep a copied service from
silently being its original; and the production shape in miniature (``fleet``: N instances per
service behind a local nginx, ``balancer``; N workers as separate hosts; DynamoDB on moto, ``motoserver``).

Rule: ``_local`` may import every runtime package (``_core``, ``store``, ``auth``, ``clients``,
``tasks``, ``_server``); no runtime package imports it (checked by ``contracts/test_layers.py``).
A deployed service never loads this package.
"""
