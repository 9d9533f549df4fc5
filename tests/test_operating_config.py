"""The variables for operating the bot: METRICS_PORT, SHARD_COUNT, SHARD_IDS, INSTANCE_NAME."""

from __future__ import annotations

import socket

import pytest

from bot.config import ConfigError, ConfigProblems, load_config

MINIMAL = {"OPENAI_API_KEY": "test-key-not-real"}


def test_unset_they_keep_one_connection_no_metrics_server_and_the_hostname_as_name():
    config = load_config(MINIMAL)
    assert (config.metrics_port, config.shard_count, config.shard_ids) == (None, None, None)
    assert config.instance_name == socket.gethostname()


def test_shards_are_read_and_name_the_instance():
    config = load_config(MINIMAL | {"SHARD_COUNT": "4", "SHARD_IDS": " 2, 3 ", "METRICS_PORT": "9100"})
    assert (config.shard_count, config.shard_ids, config.metrics_port) == (4, (2, 3), 9100)
    assert config.instance_name == f"{socket.gethostname()}-shards-2-3"


def test_a_shard_count_alone_runs_every_shard_here():
    config = load_config(MINIMAL | {"SHARD_COUNT": "2"})
    assert config.shard_ids == (0, 1)
    assert config.instance_name.endswith("-shards-0-1")


def test_an_instance_name_given_is_kept():
    config = load_config(MINIMAL | {"SHARD_COUNT": "2", "SHARD_IDS": "1", "INSTANCE_NAME": "bot-b.eu_1"})
    assert config.instance_name == "bot-b.eu_1"


def test_port_zero_means_any_free_port():
    assert load_config(MINIMAL | {"METRICS_PORT": "0"}).metrics_port == 0


@pytest.mark.parametrize(
    ("variables", "variable", "words"),
    [
        ({"SHARD_IDS": "0,1"}, "SHARD_IDS", "needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,2"}, "SHARD_IDS", "from 0 to 1 (SHARD_COUNT is 2; got 2)"),
        ({"SHARD_COUNT": "3", "SHARD_IDS": "1,0,1"}, "SHARD_IDS", "names shard 1 more than once"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,,1"}, "SHARD_IDS", "separated by commas, such as 0,1"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "-1"}, "SHARD_IDS", "separated by commas"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT", "from 1 to"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT", "(got 'two')"),
        ({"METRICS_PORT": "65536"}, "METRICS_PORT", "from 0 to 65535"),
        ({"METRICS_PORT": "http"}, "METRICS_PORT", "whole number"),
        ({"INSTANCE_NAME": "my bot"}, "INSTANCE_NAME", "letters, digits"),
        ({"INSTANCE_NAME": "-x"}, "INSTANCE_NAME", "starting with a letter or digit"),
    ],
)
def test_malformed_values_are_named_with_what_they_must_be(variables, variable, words):
    with pytest.raises(ConfigError) as caught:
        load_config(MINIMAL | variables)
    assert caught.value.variable == variable and words in caught.value.problem


def test_a_malformed_shard_count_is_told_once_not_again_through_shard_ids():
    with pytest.raises(ConfigError) as caught:
        load_config(MINIMAL | {"SHARD_COUNT": "x", "SHARD_IDS": "0"})
    assert not isinstance(caught.value, ConfigProblems) and caught.value.variable == "SHARD_COUNT"


def test_every_problem_is_told_in_one_run():
    with pytest.raises(ConfigProblems) as caught:
        load_config(MINIMAL | {"METRICS_PORT": "-1", "SHARD_IDS": "0", "INSTANCE_NAME": "a/b"})
    assert [p.variable for p in caught.value.problems] == ["SHARD_IDS", "METRICS_PORT", "INSTANCE_NAME"]
