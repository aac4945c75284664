"""Settings dialog: writes the preferences, checks addresses and files, announces a new language."""

from __future__ import annotations

import pytest

from tests.sync.tls import Authority
from ui.settings_dialog import SettingsDialog, is_valid_exchange_url, is_valid_proxy


@pytest.fixture
def dialog(qtbot, settings):
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    return dlg


def test_ok_writes_every_setting_and_announces_the_language(qtbot, dialog, settings, tmp_path):
    bundle = Authority(tmp_path).bundle
    dialog.language_combo.setCurrentIndex(dialog.language_combo.findData("en"))
    dialog.exchange_edit.setText("https://exchange.sh.gov.cn:8443")
    dialog.ca_edit.setText(str(bundle))
    dialog.proxy_edit.setText("http://10.1.2.3:3128")

    with qtbot.waitSignal(dialog.language_changed, timeout=1000) as signal:
        dialog.accept()

    assert signal.args == ["en"]
    assert (settings.language, settings.exchange_url, settings.ca_bundle, settings.proxy) == (
        "en", "https://exchange.sh.gov.cn:8443", str(bundle), "http://10.1.2.3:3128")
    assert dialog.result() == dialog.DialogCode.Accepted


def test_an_unchanged_language_is_not_announced(qtbot, dialog, settings):
    dialog.exchange_edit.setText("http://exchange.local")
    with qtbot.assertNotEmitted(dialog.language_changed):
        dialog.accept()
    assert settings.exchange_url == "http://exchange.local"


def test_shows_the_current_settings(qtbot, settings):
    settings.language = "zh_CN"
    settings.proxy = "http://proxy:8080"
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    assert dlg.language() == "zh_CN"
    assert dlg.language_combo.currentText() == "中文"
    assert dlg.proxy_edit.text() == "http://proxy:8080"


def test_language_names_stay_in_their_own_language(dialog):
    names = [dialog.language_combo.itemText(n) for n in range(3)]
    assert names == ["Follow system", "中文", "English"]


@pytest.mark.parametrize("field, text", [
    ("exchange_edit", "ftp://exchange.gov.cn"),
    ("exchange_edit", "exchange.gov.cn"),
    ("exchange_edit", "https://user:secret@exchange.gov.cn"),
    ("exchange_edit", "https://exchange.gov.cn:99999"),
    ("proxy_edit", "http://proxy.gov.cn"),
    ("proxy_edit", "socks5://proxy:1080"),
    ("proxy_edit", "http://proxy:8080/path"),
    ("ca_edit", "/no/such/bundle.pem"),
])
def test_a_wrong_value_shows_why_and_is_not_written(qtbot, dialog, settings, field, text):
    getattr(dialog, field).setText(text)
    error = {"exchange_edit": dialog.exchange_error, "proxy_edit": dialog.proxy_error,
             "ca_edit": dialog.ca_error}[field]
    assert not error.isHidden() and error.text()
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert (settings.exchange_url, settings.proxy, settings.ca_bundle) == ("", "", "")


def test_fixing_the_value_enables_ok_again(dialog):
    dialog.proxy_edit.setText("proxy:8080")
    assert not dialog.is_valid()
    dialog.proxy_edit.setText("http://proxy:8080")
    assert dialog.is_valid()
    assert dialog.proxy_error.isHidden()


def test_validators():
    assert is_valid_exchange_url("")
    assert is_valid_exchange_url("https://10.0.0.5")
    assert is_valid_exchange_url("http://[::1]:8000")
    assert is_valid_exchange_url("https://交换.政务.cn/api")
    assert not is_valid_exchange_url("https://")
    assert not is_valid_exchange_url("https://exa mple.cn")
    assert not is_valid_exchange_url("https://-bad-.cn")
    assert is_valid_proxy("https://proxy.intranet:443")
    assert not is_valid_proxy("http://proxy.intranet:0")
    assert is_valid_proxy("http://alice:s3cret@proxy.intranet:3128")
    assert is_valid_proxy("http://alice@proxy.intranet:3128")
    assert not is_valid_proxy("http://:s3cret@proxy.intranet:3128")
    assert not is_valid_exchange_url("https://alice@exchange.gov.cn")


def test_the_certificate_chooser_fills_the_path(dialog, monkeypatch, tmp_path):
    from ui import settings_dialog

    bundle = tmp_path / "corp-ca.crt"
    bundle.write_bytes(Authority(tmp_path).bundle.read_bytes())
    monkeypatch.setattr(settings_dialog.QFileDialog, "getOpenFileName", lambda *a, **k: (str(bundle), ""))
    dialog.ca_button.click()
    assert dialog.ca_edit.text() == str(bundle)
    assert dialog.is_valid()


def test_every_input_has_an_accessible_name_and_a_buddy(dialog):
    from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QSpinBox

    edits = [e for e in dialog.findChildren(QLineEdit) if e.objectName() != "qt_spinbox_lineedit"]  # a spin box's own
    inputs = dialog.findChildren(QComboBox) + edits + dialog.findChildren(QSpinBox)
    assert inputs and all(w.accessibleName() for w in inputs)
    buddies = {label.buddy() for label in dialog.findChildren(QLabel)}
    assert set(inputs) <= buddies


@pytest.mark.parametrize("content, words", [
    (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "is not a certificate file"),
    ("这是一份说明".encode(), "is not a certificate file"),
])
def test_a_bundle_that_is_not_a_certificate_is_named_where_it_is_chosen(dialog, settings, tmp_path, content, words):
    bundle = tmp_path / "office-ca.pem"
    bundle.write_bytes(content)
    dialog.ca_edit.setText(str(bundle))
    assert not dialog.ca_error.isHidden()
    assert "office-ca.pem" in dialog.ca_error.text() and words in dialog.ca_error.text()
    dialog.accept()
    assert settings.ca_bundle == ""


def test_a_der_certificate_is_a_good_bundle(dialog, tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding

    bundle = tmp_path / "office-ca.cer"
    bundle.write_bytes(Authority(tmp_path).root.certificate.public_bytes(Encoding.DER))
    dialog.ca_edit.setText(str(bundle))
    assert dialog.is_valid() and dialog.ca_error.isHidden()


def test_the_timeouts_are_settings(dialog, settings):
    assert (dialog.connect_spin.value(), dialog.read_spin.value(), dialog.deadline_spin.value()) == (10, 60, 300)
    dialog.connect_spin.setValue(5)
    dialog.read_spin.setValue(20)
    dialog.deadline_spin.setValue(90)
    dialog.accept()
    assert (settings.connect_timeout, settings.read_timeout, settings.sync_deadline) == (5, 20, 90)


def test_a_proxy_login_keeps_its_password_in_the_keyring_not_in_the_settings(qtbot, dialog, settings, tmp_path):
    import keyring

    from steward.sync.exchange_client import PROXY_KEYRING_SERVICE
    from tests.keyring_backend import MemoryKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        dialog.proxy_edit.setText("http://alice:s3cret@proxy.example.gov.cn:3128")
        assert dialog.is_valid()
        dialog.accept()
        settings.sync()
        assert settings.proxy == "http://alice@proxy.example.gov.cn:3128"
        assert "s3cret" not in (tmp_path / "settings.ini").read_text()
        assert keyring.get_password(PROXY_KEYRING_SERVICE, "alice@proxy.example.gov.cn:3128") == "s3cret"
        again = SettingsDialog(settings)
        qtbot.addWidget(again)
        assert again.proxy_edit.text() == "http://alice@proxy.example.gov.cn:3128"
        again.accept()  # unchanged: the password stays
        assert keyring.get_password(PROXY_KEYRING_SERVICE, "alice@proxy.example.gov.cn:3128") == "s3cret"
        cleared = SettingsDialog(settings)
        qtbot.addWidget(cleared)
        cleared.proxy_edit.setText("")
        cleared.accept()  # no proxy any more: no password of it stays behind
        assert keyring.get_password(PROXY_KEYRING_SERVICE, "alice@proxy.example.gov.cn:3128") is None
    finally:
        keyring.set_keyring(previous)


def test_without_a_keyring_a_proxy_password_is_refused_and_nothing_written(dialog, settings, monkeypatch):
    from steward.sync.keys import STORAGE_ENV

    monkeypatch.setenv(STORAGE_ENV, "file")  # as where no secure keyring exists
    dialog.proxy_edit.setText("http://alice:s3cret@proxy.example.gov.cn:3128")
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert not dialog.proxy_error.isHidden() and "HTTPS_PROXY" in dialog.proxy_error.text()
    assert settings.proxy == ""
