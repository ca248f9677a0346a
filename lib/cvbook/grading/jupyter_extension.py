"""cvbook's Jupyter server extension: two fixes to nbgrader's pages in JupyterLab.

* **Validate shows the message first.** nbgrader's dialog shows each failed cell as "The
  following cell failed:", then the cell's code, then its error. For a test cell the code
  is a dozen lines of checks and the one sentence a student can act on ("Part 2 (quantize)
  is not answered yet ...") comes below it. The reply of the server's validate handler is
  reordered: the message in the slot shown first, the cell's code after it.
* **The formgrader's maths renders offline.** Its pages load MathJax 2 from a CDN (the
  template's default, which no setting changes), so without a network the maths of a
  submission shows as raw LaTeX. A copy of MathJax 2.7.9 ships with cvbook
  (`static/mathjax2/`, Apache-2.0) and the formgrader's exporter loads it from this server.

Installing cvbook enables it (`jupyter-config/` in lib/); by hand:
`--ServerApp.jpserver_extensions='{"cvbook.grading.jupyter_extension": true}'`.
"""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

MATHJAX2 = Path(__file__).parent / "static" / "mathjax2"
# nbconvert's own macro (its MathJax configuration), with this server's copy as the default URL
MATHJAX_MACRO = ("{%- import 'base/mathjax.html.j2' as nbconvert -%}\n"
                 '{%- macro mathjax(url="URL") -%}{{ nbconvert.mathjax(url) }}{%- endmacro %}\n')

_TAG = re.compile(r"<[^>]+>")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def message_first(result: dict) -> dict:
    """The validate handler's reply with each failed cell's error shown before its code.

    The dialog writes `source` as text and `error` as HTML (nbgrader's ansi2html of the
    traceback), in that order; so `source` gets the error as plain text (from `raw_error`
    without its colour codes, or the HTML without tags) and `error` the cell's code,
    escaped. Any other reply is returned unchanged."""
    value = result.get("value") if result.get("success") else None
    if not isinstance(value, dict) or not isinstance(value.get("failed"), list):
        return result
    failed = []
    for cell in value["failed"]:
        if "raw_error" in cell:
            message = _ANSI.sub("", cell["raw_error"]).strip()
        else:
            message = html.unescape(_TAG.sub("", cell.get("error", ""))).strip()
        # the dialog shows it in a <pre>: wrapped, so that nothing needs scrolling sideways
        message = "\n".join(textwrap.fill(line, 88) if line else "" for line in message.splitlines())
        code = html.escape(cell.get("source", ""))
        failed.append({**cell, "source": message, "error": f"The cell:\n\n{code}" if code else ""})
    return {**result, "value": {**value, "failed": failed}}


def offline_mathjax(exporter, url: str) -> None:
    """Make an nbconvert exporter's `mathjax()` macro load MathJax from `url` (the
    formgrade and feedback templates call it without an argument, i.e. with the CDN)."""
    from jinja2 import DictLoader

    loader = DictLoader({"mathjax.html.j2": MATHJAX_MACRO.replace("URL", url)})
    loader.cvbook = True
    exporter.extra_loaders = [loader, *[x for x in exporter.extra_loaders if not getattr(x, "cvbook", False)]]
    exporter.mathjax_url = url


def _jupyter_server_extension_points():
    return [{"module": "cvbook.grading.jupyter_extension"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join
    from tornado import web

    webapp = serverapp.web_app
    base_url = webapp.settings.get("base_url", "/")
    static = url_path_join(base_url, "cvbook", "static", "mathjax2")
    webapp.add_handlers(".*$", [(static + "/(.*)", web.StaticFileHandler, {"path": str(MATHJAX2)})])
    url = static + "/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    try:
        from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
        from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
    except ImportError:  # no nbgrader: nothing to fix
        return
    _patch_validate(ValidateAssignmentHandler)
    # Extensions load in name order (cvbook before nbgrader), but either way round works:
    # the formgrader's exporter is fixed now if it exists, or when it is made.
    if "nbgrader_exporter" in webapp.settings:
        offline_mathjax(webapp.settings["nbgrader_exporter"], url)
    original = FormgradeExtension.init_tornado_settings
    if not getattr(original, "cvbook", False):
        def init_tornado_settings(self, webapp):
            original(self, webapp)
            offline_mathjax(webapp.settings["nbgrader_exporter"], url)

        init_tornado_settings.cvbook = True
        FormgradeExtension.init_tornado_settings = init_tornado_settings
    serverapp.log.info("cvbook: Validate shows each message before its cell's code; "
                       "the formgrader's maths loads MathJax from %s", static)


def _patch_validate(handler) -> None:
    """Wrap nbgrader's validate handler once."""
    original = handler.validate_notebook
    if getattr(original, "cvbook", False):
        return

    def validate_notebook(self, path):
        return message_first(original(self, path))

    validate_notebook.cvbook = True
    handler.validate_notebook = validate_notebook
