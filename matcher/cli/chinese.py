"""Simplified Chinese for the words typer prints itself: the help panels' titles ("Options",
"Arguments", "Commands"), "[default: …]", "[required]", the error panel and its "Try … for help",
"No such command", "Aborted" — so that a clerk reads one language in ``cxy``.

typer looks these up through ``gettext.gettext``, which takes its language from LANGUAGE/LANG and a
compiled .mo file; ``cxy`` is Chinese whatever the machine's locale, so the two typer modules' ``_``
is pointed at this catalogue instead, and the strings typer.rich_utils computed at import (its
documented module-level constants) are set. Done once, on import of ``matcher.cli``.

Not covered: typer (0.2x) bundles its own copy of click (``typer._click``) whose messages are plain
English f-strings without gettext: "Usage:", "Show this message and exit.", "Missing argument",
"No such option", "Invalid value for …". Changing those would mean patching typer's private classes.
"""

import gettext
import importlib

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


def install() -> None:
    """Point typer's gettext lookups at the catalogue above (idempotent)."""
    for name in ("typer.core", "typer.rich_utils"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # typer.rich_utils needs rich; without it typer uses its plain formatter (typer.core)
            continue
        if getattr(module, "_", None) in (gettext.gettext, translate):
            module._ = translate
        if name == "typer.rich_utils":
            for constant, msgid in RICH_CONSTANTS.items():
                if getattr(module, constant, None) == msgid:  # one the project already changed is left alone
                    setattr(module, constant, MESSAGES[msgid])
