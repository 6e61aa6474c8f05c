"""One way to render HTML: the Jinja templates and the one stylesheet shared by the console (served by
`cxy serve`) and the monthly report page (a self-contained file that inlines the same stylesheet)."""

from matcher.web.templating import STATIC, environment, stylesheet

__all__ = ["STATIC", "environment", "stylesheet"]
