# -*- coding: utf-8 -*-
"""The "authenticating clients simply" recipe (Python Cookbook, 3rd edition,
recipe 11.9), used by gen_handshake_vectors.py to produce recipe.json.

client_authenticate / server_authenticate are the book's code.  The only
change is the optional ``digestmod`` argument: the book calls
``hmac.new(secret_key, message)``, which means HMAC-MD5 on Python <= 3.7 and
is a TypeError from 3.8 on, so the SHA-256 vectors pass ``digestmod='sha256'``
while the MD5 vectors run the two-argument call unchanged (under Python 2.7).

``os`` is looked up in this module's namespace at call time, so the runner
pins the challenge by replacing ``cookbook_recipe.os`` (never the global
``os.urandom``).  Must stay importable by Python 2.7.
"""
import hmac
import os


def _new(secret_key, message, digestmod):
    if digestmod is None:
        return hmac.new(secret_key, message)          # the book's exact call
    return hmac.new(secret_key, message, digestmod)


def client_authenticate(connection, secret_key, digestmod=None):
    '''
    Authenticate client to a remote service.
    connection represents a network connection.
    secret_key is a key known only to both client/server.
    '''
    message = connection.recv(32)
    hash = _new(secret_key, message, digestmod)
    digest = hash.digest()
    connection.send(digest)


def server_authenticate(connection, secret_key, digestmod=None):
    '''
    Request client authentication.
    '''
    message = os.urandom(32)
    connection.send(message)
    hash = _new(secret_key, message, digestmod)
    digest = hash.digest()
    response = connection.recv(len(digest))
    return hmac.compare_digest(digest, response)
