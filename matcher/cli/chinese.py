"""Simplified Chinese for the words typer prints itself: the help panels' titles ("Options",
"Arguments", "Commands"), "[default: …]", "[required]", the error panel and its "Try … for help",
"No such command", "Aborted" — so that a clerk reads one language in ``cxy``.

typer looks these up through ``gettext.gettext``, which takes its language from LANGUAGE/LANG and a
compiled .mo file; ``cxy`` is Chinese whatever the machine's locale, so the two typer modules' ``_``
is pointed at this catalogue instead, and the strings typer.rich_utils computed at import (its
documented module-level constants) are set: typer.core on import of ``matcher.cli``, typer.rich_utils
when typer first imports it (only for help and error panels).

Not covered: typer (0.2x) bundles its own copy of click (``typer._click``) whose messages are plain
English f-strings without gettext: "Usage:", "Show this message and exit.", "Missing argument",
"No such option", "Invalid value for …". Changing those would mean patching typer's private classes.
"""

import gettext
import importlib
import importlib.abc
import importlib.util
import sys

# typer's msgids, exactly as written in typer/core.py and typer/rich_utils.py, with their Chinese.
MESSAGES = {
    "Options": "选项",
    "Arguments": "参数",
    "Commands": "命令",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "(dynamic)": "（动态）",
    "(deprecated) ": "（已弃用）",
    "[default: {}]": "[默认：{}]",
    "[env var: {}]": "[环境变量：{}]",
    "[required]": "[必填]",
    "Error": "错误",
    "Try [blue]'{command_path} {help_option}'[/] for help.": "查看用法：[blue]{command_path} {help_option}[/]",
    "Missing command.": "缺少子命令。",
    "No such command {name!r}.": "没有 {name!r} 这个命令。",
    "Aborted!": "已取消。",
    "Aborted.": "已取消。",
}
# typer.rich_utils' constants and the msgid each was computed from.
RICH_CONSTANTS = {
    "DEPRECATED_STRING": "(deprecated) ",
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def translate(message: str) -> str:
    """The Chinese of a typer message; any other message goes to gettext as before."""
    return MESSAGES.get(message) or gettext.gettext(message)


def _patch(module) -> None:
    if getattr(module, "_", None) in (gettext.gettext, translate):
        module._ = translate
    if module.__name__ == "typer.rich_utils":
        for constant, msgid in RICH_CONSTANTS.items():
            if getattr(module, constant, None) == msgid:  # one the project already changed is left alone
                setattr(module, constant, MESSAGES[msgid])


class _WhenImported(importlib.abc.MetaPathFinder):
    """Patches typer.rich_utils when typer imports it, for help or an error panel: importing it (and rich's
    markdown and traceback modules) at start cost every command about a third of its start-up."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "typer.rich_utils":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        _patch(module)


def install() -> None:
    """Point typer's gettext lookups at the catalogue above (idempotent)."""
    _patch(importlib.import_module("typer.core"))
    if "typer.rich_utils" in sys.modules:
        _patch(sys.modules["typer.rich_utils"])
    elif not any(isinstance(f, _WhenImported) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenImported())
