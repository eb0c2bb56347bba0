"""The consumer scan page: server-rendered, mobile-first, Chinese by default, no JavaScript.

The first screen says the verdict, in its own colour, and one sentence of why; a bad
answer (possibly copied, suspicious, recalled, unknown) is followed by what to do next
(the brand's hotline, website, and a report form), never by a reassuring product card.
The page answers 200 whatever the verdict (see `PAGE_STATUS`): the JSON and linkset
answers keep the GS1 resolver's 404 and 410.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from trace_api.resolver.page_text import (
    LINK_TITLES,
    STRINGS,
    keep_units,
    place,
    reason_sentence,
    warning_sentence,
)
from trace_api.resolver.resolution import Resolution

LOCAL_TIME = ZoneInfo("Asia/Shanghai")  # pages show China time; storage stays UTC
# In-app browsers (WeChat, Alipay, Douyin and others on Android WebView) may put their own
# error screen in place of a page answered with 4xx, so the shopper would never see the
# recall notice or the advice for an unknown code: pages are 200 for every verdict, and
# carry the verdict in `X-Trace-Verdict`. docs/resolver.md.
PAGE_STATUS = 200
BAD = ("possibly_copied", "suspicious", "recalled", "unknown")
MARKS = {
    "genuine": "✔",
    "pin_required": "…",
    "possibly_copied": "⚠",
    "suspicious": "✖",
    "recalled": "⚠",
    "unknown": "?",
}


def choose_language(accept_language: str | None, override: str | None = None) -> str:
    """``zh`` unless the client prefers English (or asks with ``?lang=en``)."""
    if override in STRINGS:
        return override
    best, best_q = "zh", 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in STRINGS and q > best_q:
            best, best_q = language, q
    return best


def local_time(value: str | None) -> str | None:
    """An ISO UTC timestamp as China time, minutes precision."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = local_time
    env.filters["units"] = keep_units
    return env


def wait_text(seconds: float, lang: str) -> str:
    """A wait as people say it: ``45 秒``, ``2 分钟``, ``1 hour 5 minutes``."""
    if seconds < 60:
        n = max(1, int(seconds + 0.999))
        return f" {n} 秒" if lang == "zh" else f"{n} second{'s' * (n != 1)}"
    minutes = int(seconds / 60 + 0.999)
    hours, minutes = divmod(minutes, 60)
    if lang == "zh":
        return (f" {hours} 小时" if hours else "") + (f" {minutes} 分钟" if minutes else "")
    parts = [f"{hours} hour{'s' * (hours != 1)}"] if hours else []
    if minutes:
        parts.append(f"{minutes} minute{'s' * (minutes != 1)}")
    return " ".join(parts)


@dataclass(frozen=True)
class Headline:
    """The first screen: the verdict's look, its title and the one sentence of why."""

    look: str  # the CSS class: a verdict, or "pin_verified"
    title: str
    sentence: str
    more: list[str]  # further warnings or reasons, one sentence each


def headline(
    result: Resolution, text: dict[str, str], lang: str, pin_result: dict[str, Any] | None
) -> Headline:
    """What the top of the page says about ``result``."""
    verdict = result.verdict
    if verdict == "possibly_copied":
        sentences = [
            s for w in result.warnings if (s := warning_sentence(w, text, lang, local_time))
        ]
        first = sentences[0] if sentences else text["copied_what"]
        return Headline(verdict, text[verdict], first, sentences[1:])
    if verdict == "suspicious":
        reasons = list(dict.fromkeys(reason_sentence(r, text) for r in result.reasons))
        return Headline(verdict, text[verdict], reasons[0] + text["do_not_buy"], reasons[1:])
    if verdict == "recalled":
        scope = (result.recall or {}).get("scope")
        return Headline(
            verdict, text[verdict], text[f"recalled{'_item' * (scope == 'item')}_sub"], []
        )
    if verdict in ("unknown", "pin_required"):
        return Headline(verdict, text[verdict], text[f"{verdict}_sub"], [])
    pin = result.pin or {}
    if pin_result is not None and pin_result["result"] in ("verified", "already_used"):
        title = f"{text['genuine']} · {text['pin_verified_badge']}"
        if pin_result["result"] == "verified":
            return Headline("pin_verified", title, text["genuine_pin_sub"], [])
        at = local_time(pin_result["used_at"])
        return Headline("pin_verified", title, text["genuine_pin_yours_sub"].format(at=at), [])
    anchor_status = ((result.proof or {}).get("anchor") or {}).get("status")
    sentence = text["genuine_sub" if anchor_status == "confirmed" else "genuine_pending_sub"]
    if pin.get("used_at"):
        sentence += text["genuine_pin_used_sub"].format(at=local_time(pin["used_at"]))
    return Headline("genuine", text["genuine"], sentence, [])


def _pin_message(
    text: dict[str, str], lang: str, pin_result: dict[str, Any] | None, pin: dict[str, Any]
) -> tuple[str | None, bool]:
    """What the PIN section says (None: nothing), and whether it offers the form."""
    if pin_result is None:
        if pin.get("backoff_until"):  # a code backing off: no form that would not be checked
            wait = wait_text(pin["retry_after"], lang)
            at = local_time(pin["backoff_until"])
            return text["pin_backoff_code"].format(wait=wait, at=at), False
        return None, not pin.get("used_at")
    outcome = pin_result["result"]
    if outcome == "already_used":
        key = "pin_already_yours" if pin_result.get("by_you") else "pin_already_used"
        return text[key].format(at=local_time(pin_result["used_at"])), False
    if outcome == "wrong" and pin_result.get("retry_after"):
        return text["pin_wrong_backoff"].format(
            wait=wait_text(pin_result["retry_after"], lang)
        ), False
    if outcome == "wrong":
        return text["pin_wrong"].format(left=pin_result["attempts_left"]), True
    if outcome == "backing_off":
        wait = wait_text(pin_result["retry_after"], lang)
        at = local_time(pin_result["until"])
        return text["pin_backoff_" + pin_result["backoff"]].format(wait=wait, at=at), False
    return text["pin_" + outcome], False


def _explorer_tx(explorer: str, anchor: dict[str, Any]) -> str | None:
    tx = anchor.get("tx")
    if not explorer or not tx or anchor.get("status") != "confirmed":
        return None
    return f"{explorer.rstrip('/')}/tx/{quote(str(tx), safe='')}"


def render(
    result: Resolution,
    *,
    lang: str,
    page_uri: str,
    pin_result: dict[str, Any] | None = None,
    report_uri: str | None = None,
    explorer: str = "",
    operator: str = "",
) -> str:
    """The scan page for ``result`` in ``lang``."""
    text = STRINGS[lang]
    pin_message, pin_form = _pin_message(text, lang, pin_result, result.pin or {})
    top = headline(result, text, lang, pin_result)
    if result.verdict in ("suspicious", "unknown", "recalled"):
        pin_form = False  # no PIN to check on an item that is not to be used
    link_titles = {k: v[0 if lang == "zh" else 1] for k, v in LINK_TITLES.items()}
    anchor = (result.proof or {}).get("anchor", {})
    return (
        _environment()
        .get_template("scan.html")
        .render(
            r=result,
            t=text,
            lang=lang,
            top=top,
            bad=result.verdict in BAD,
            mark=MARKS["genuine" if top.look == "pin_verified" else result.verdict],
            page_uri=page_uri,
            report_uri=report_uri,
            pin_result=pin_result,
            pin_message=pin_message,
            pin_form=pin_form,
            first_region=place((result.scans or {}).get("first_region"), lang),
            link_titles=link_titles,
            anchor=anchor,
            explorer_tx=_explorer_tx(explorer, anchor),
            operator=operator,
            brand=result.brand or {},
            howto_uri=f"/verify-proof?lang={lang}",
        )
    )
