"""How the window names a department: by its name with its 统一社会信用代码 beside it (上海市公安局（11310000…）).

A steward does not know departments by their 18-character codes; the code stays beside the name because it is
what identifies the department (two may share a name) and what the command line and the log say. Where the
exchange has not named a department yet (before the first sync), the code is all there is.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QCoreApplication


def fill(template: str, *values: str) -> str:
    """%1, %2 … of a translated text replaced in one pass (a name holding "%2" stays as it is)."""
    return re.sub(r"%(\d)", lambda m: values[int(m.group(1)) - 1], template)


def department_label(code: str, name: str | None) -> str:
    """'name (code)' in the UI's language, or the code alone when the name is unknown."""
    if not name or name == code:
        return code
    template = QCoreApplication.translate("DepartmentLabel", "%1 (%2)", "a department: its name (its code)")
    return fill(template, name, code)


def signer_label(signer: str, code: str, name: str | None) -> str:
    """Who signed a step, and for which department: 'steward (department name, code)'."""
    if not name or name == code:
        template = QCoreApplication.translate("DepartmentLabel", "%1 (%2)", "a steward (the department's code)")
        return fill(template, signer, code)
    template = QCoreApplication.translate("DepartmentLabel", "%1 (%2, %3)",
                                          "a steward (the department's name, its code)")
    return fill(template, signer, name, code)
