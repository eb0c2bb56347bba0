"""The consumer scan page: server-rendered, mobile-first, Chinese by default, no JavaScript."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from trace_api.resolver.regions import region_name
from trace_api.resolver.service import Resolution

LOCAL_TIME = ZoneInfo("Asia/Shanghai")  # pages show China time; storage stays UTC

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "产品验证",
        "genuine": "正品",
        "genuine_sub": "此码由品牌方签发，记录完整，已上链存证。",
        "genuine_pending_sub": "此码由品牌方签发，记录完整；上链存证确认中。",
        "suspicious": "可疑",
        "suspicious_sub": "此码的记录与链上存证不符，请勿购买，并联系品牌方。",
        "recalled": "已召回",
        "recalled_sub": "该产品已被召回，请停止使用。",
        "unknown": "未找到",
        "unknown_sub": "查无此码。请核对标签，谨防假冒。",
        "product": "产品信息",
        "name": "名称",
        "brand": "品牌",
        "gtin": "商品条码 (GTIN)",
        "lot": "批号",
        "serial": "序列号",
        "production_date": "生产日期",
        "expiry": "有效期至",
        "factory": "生产工厂",
        "scans": "查询记录",
        "scan_count": "本码已被查询 {count} 次（含本次）",
        "first_scan": "首次查询：{at}",
        "first_region": "首次查询地区：{region}",
        "warnings": "注意",
        "many_scans": "此码已被查询 {count} 次，正品通常不会被查询这么多次，可能被复制。",
        "far_apart": "此码在约 {minutes} 分钟内于相距约 {km} 公里的两地被查询，可能被复制。",
        "count_tampered": "此码的查询计数曾被改动：计数显示 {counter} 次，查询记录却有 {records} "
        "次。上面的次数以记录为准。请谨慎：可能有人想掩盖复制品。",
        "timeline": "溯源记录",
        "produced": "生产",
        "code_issued": "赋码",
        "anchored": "上链存证",
        "first_scan_event": "首次被查询",
        "shipped": "发货",
        "received": "收货",
        "sold": "售出",
        "returned": "退货",
        "recalled_event": "召回",
        "recall_reason": "召回原因：{reason}",
        "pin": "刮开验证码",
        "pin_hint": "刮开标签涂层，输入验证码（仅可验证一次）。",
        "pin_submit": "验证",
        "pin_verified": "验证成功：这是该验证码的首次使用。",
        "pin_already_used": "此验证码已于 {at} 使用过。若不是您本人，请谨慎。",
        "pin_wrong": "验证码错误，还可尝试 {left} 次。",
        "pin_wrong_backoff": "验证码错误。错误次数过多，暂停验证，请在{wait}后再试。",
        "pin_backoff_code": "此码的验证码近期被输错次数过多（可能是他人所为），为防止猜测，"
        "暂停验证，本次输入未被核对。请在{wait}后（北京时间 {at}）再试；"
        "真正的购买者届时仍可正常验证。",
        "pin_backoff_client": "您的网络近期输错验证码次数过多，暂停验证，本次输入未被核对。"
        "请在{wait}后（北京时间 {at}）再试。",
        "pin_no_pin": "此产品没有刮开验证码。",
        "pin_unknown_code": "查无此码。",
        "pin_used_note": "验证码已于 {at} 使用。",
        "proof": "链上证明",
        "proof_intro": "此码的 Merkle 包含证明，可用公开算法独立验证。",
        "proof_pending": "上链确认中，请稍后查看。",
        "status": "状态",
        "chain": "链 ID",
        "contract": "合约",
        "block": "区块",
        "tx": "交易",
        "confirmations": "确认数",
        "root": "批次根哈希",
        "index": "叶子序号",
        "tree_size": "批次数量",
        "leaf": "叶子哈希",
        "dev_chain": "（开发测试链）",
        "time_note": "时间为北京时间",
        "switch": "English",
        "switch_lang": "en",
        "links": "更多信息",
    },
    "en": {
        "title": "Product check",
        "genuine": "Genuine",
        "genuine_sub": "This code was issued by the brand; its record is intact and anchored "
        "on chain.",
        "genuine_pending_sub": "This code was issued by the brand; its record is intact, and "
        "its on-chain anchor is still being confirmed.",
        "suspicious": "Suspicious",
        "suspicious_sub": "This code's record does not match its on-chain proof. Do not buy; "
        "contact the brand.",
        "recalled": "Recalled",
        "recalled_sub": "This product has been recalled. Stop using it.",
        "unknown": "Not found",
        "unknown_sub": "No such code. Check the label: this may be a counterfeit.",
        "product": "Product",
        "name": "Name",
        "brand": "Brand",
        "gtin": "GTIN",
        "lot": "Lot",
        "serial": "Serial",
        "production_date": "Produced",
        "expiry": "Expires",
        "factory": "Factory",
        "scans": "Scans",
        "scan_count": "This code has been checked {count} time(s), this one included",
        "first_scan": "First checked: {at}",
        "first_region": "First checked in: {region}",
        "warnings": "Warning",
        "many_scans": "This code has been checked {count} times; a genuine item rarely is. "
        "It may have been copied.",
        "far_apart": "This code was checked {km} km apart within about {minutes} minutes. "
        "It may have been copied.",
        "count_tampered": "This code's scan count was altered: the counter said {counter}, "
        "the scan records hold {records}. The count above follows the records. Be careful: "
        "someone may have tried to hide copies.",
        "timeline": "Where it has been",
        "produced": "Produced",
        "code_issued": "Code issued",
        "anchored": "Anchored on chain",
        "first_scan_event": "First checked",
        "shipped": "Shipped",
        "received": "Received",
        "sold": "Sold",
        "returned": "Returned",
        "recalled_event": "Recalled",
        "recall_reason": "Reason: {reason}",
        "pin": "Scratch-off PIN",
        "pin_hint": "Scratch the label and enter the PIN (it verifies once).",
        "pin_submit": "Verify",
        "pin_verified": "Verified: this is the first use of this PIN.",
        "pin_already_used": "This PIN was already used on {at}. If that was not you, be careful.",
        "pin_wrong": "Wrong PIN; {left} attempt(s) left.",
        "pin_wrong_backoff": "Wrong PIN. Too many wrong tries: PIN checks are paused; try "
        "again in {wait}.",
        "pin_backoff_code": "Too many wrong PINs were tried for this code recently, possibly by "
        "someone else, so PIN checks are paused to stop guessing; this PIN was not checked. "
        "Try again in {wait} (at {at} China time): the genuine buyer can still verify then.",
        "pin_backoff_client": "Too many wrong PINs came from your network recently, so PIN "
        "checks from it are paused; this PIN was not checked. Try again in {wait} (at {at} "
        "China time).",
        "pin_no_pin": "This product has no scratch-off PIN.",
        "pin_unknown_code": "No such code.",
        "pin_used_note": "The PIN was used on {at}.",
        "proof": "On-chain proof",
        "proof_intro": "The Merkle inclusion proof of this code; anyone can verify it.",
        "proof_pending": "Waiting for the chain to confirm; check again later.",
        "status": "Status",
        "chain": "Chain id",
        "contract": "Contract",
        "block": "Block",
        "tx": "Transaction",
        "confirmations": "Confirmations",
        "root": "Batch root",
        "index": "Leaf index",
        "tree_size": "Items in batch",
        "leaf": "Leaf hash",
        "dev_chain": " (development chain)",
        "time_note": "Times are China time (UTC+8)",
        "switch": "中文",
        "switch_lang": "zh",
        "links": "More",
    },
}
LINK_TITLES = {
    "gs1:pip": ("产品信息页", "Product information"),
    "gs1:recallStatus": ("召回信息", "Recall status"),
    "gs1:instructions": ("使用说明", "Instructions"),
    "gs1:certificationInfo": ("认证信息", "Certification"),
    "gs1:support": ("客户服务", "Support"),
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


def _pin_message(
    text: dict[str, str], lang: str, pin_result: dict[str, Any] | None, pin: dict[str, Any]
) -> tuple[str | None, bool]:
    """What the PIN section says (None: nothing), and whether it offers the form."""
    if pin_result is None:
        if pin.get("backoff_until"):  # a code backing off: no form that would not be checked
            wait = wait_text(pin["retry_after"], lang)
            at = local_time(pin["backoff_until"])
            return text["pin_backoff_code"].format(wait=wait, at=at), False
        if pin.get("used_at"):
            return text["pin_used_note"].format(at=local_time(pin["used_at"])), True
        return None, True
    outcome = pin_result["result"]
    if outcome == "already_used":
        return text["pin_already_used"].format(at=local_time(pin_result["used_at"])), False
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


def render(
    result: Resolution,
    *,
    lang: str,
    page_uri: str,
    pin_result: dict[str, Any] | None = None,
) -> str:
    """The scan page for ``result`` in ``lang``."""
    text = STRINGS[lang]
    pin_message, pin_form = _pin_message(text, lang, pin_result, result.pin or {})
    warnings = []
    for warning in result.warnings:
        template = text.get(warning["code"])
        if template:
            warnings.append(template.format(**warning))
    link_titles = {k: v[0 if lang == "zh" else 1] for k, v in LINK_TITLES.items()}
    return (
        _environment()
        .get_template("scan.html")
        .render(
            r=result,
            t=text,
            lang=lang,
            page_uri=page_uri,
            warnings=warnings,
            pin_result=pin_result,
            pin_message=pin_message,
            pin_form=pin_form,
            first_region=region_name((result.scans or {}).get("first_region"), lang),
            link_titles=link_titles,
            anchor=(result.proof or {}).get("anchor", {}),
        )
    )
