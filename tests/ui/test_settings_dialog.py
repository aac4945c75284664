"""Settings dialog: writes the preferences, checks addresses and files, announces a new language."""

from __future__ import annotations

import pytest

from ui.settings_dialog import SettingsDialog, is_valid_exchange_url, is_valid_proxy


@pytest.fixture
def dialog(qtbot, settings):
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    return dlg


def test_ok_writes_every_setting_and_announces_the_language(qtbot, dialog, settings, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
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


def test_the_certificate_chooser_fills_the_path(dialog, monkeypatch, tmp_path):
    from ui import settings_dialog

    bundle = tmp_path / "corp-ca.crt"
    bundle.write_text("x")
    monkeypatch.setattr(settings_dialog.QFileDialog, "getOpenFileName", lambda *a, **k: (str(bundle), ""))
    dialog.ca_button.click()
    assert dialog.ca_edit.text() == str(bundle)
    assert dialog.is_valid()


def test_every_input_has_an_accessible_name_and_a_buddy(dialog):
    from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit

    inputs = dialog.findChildren(QComboBox) + dialog.findChildren(QLineEdit)
    assert inputs and all(w.accessibleName() for w in inputs)
    buddies = {label.buddy() for label in dialog.findChildren(QLabel)}
    assert set(inputs) <= buddies
