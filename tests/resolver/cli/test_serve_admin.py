"""/metrics on a taken port: the default one is given up with a warning (DNS goes on), one the operator
chose stops `serve` with one line naming --admin."""

import socket

import pytest
from fraudwall.resolver.cli.serve import AdminUnavailable, admin_or_off
from fraudwall.resolver.config import AdminSettings, Config


@pytest.fixture
def taken():
    """An address on loopback that someone else listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield f"127.0.0.1:{holder.getsockname()[1]}"


def test_the_default_is_not_coredns_9153():
    assert not AdminSettings().listen.endswith(":9153")


def test_a_taken_default_turns_metrics_off_with_one_warning_line(taken):
    config, warning = admin_or_off(Config().replace("admin", listen=taken), chosen=False)
    assert config.admin.listen == ""
    assert warning.startswith("fraudwall: warning: /metrics is off: the default") and "\n" not in warning
    assert "--admin ADDR:PORT" in warning


def test_a_taken_address_the_operator_chose_is_an_error_naming_admin(taken):
    with pytest.raises(AdminUnavailable) as error:
        admin_or_off(Config().replace("admin", listen=taken), chosen=True)
    assert str(error.value).startswith(f"--admin {taken}: cannot serve /metrics there:")


def test_a_free_address_and_no_address_are_kept(taken):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = f"127.0.0.1:{probe.getsockname()[1]}"
    for listen in (free, ""):
        config, warning = admin_or_off(Config().replace("admin", listen=listen), chosen=True)
        assert (config.admin.listen, warning) == (listen, "")


def test_the_default_address_written_in_the_config_file_counts_as_chosen(tmp_path):
    from fraudwall.resolver.cli.serve import sets_admin_listen
    written, silent = tmp_path / "written.toml", tmp_path / "silent.toml"
    written.write_text(f'[admin]\nlisten = "{AdminSettings().listen}"\n')
    silent.write_text('[admin]\nallow = ["127.0.0.0/8"]\n')
    assert sets_admin_listen(str(written))
    assert not sets_admin_listen(str(silent)) and not sets_admin_listen("<defaults>")
