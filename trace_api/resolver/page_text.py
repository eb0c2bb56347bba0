"""What the scan page says, in Chinese and English: plain words, no jargon, no raw codes.

Shoppers read the first line and stop, so each verdict has a title and one sentence that
says why; warnings and reasons are whole sentences; places are GB/T 2260 names.
"""

from __future__ import annotations

import re
from typing import Any

from trace_api.channels import divisions
from trace_api.resolver.regions import PROVINCES

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "产品验证",
        "genuine": "正品",
        "genuine_sub": "此码由品牌方签发，记录完整，与区块链上的存证一致。",
        "genuine_pending_sub": "此码由品牌方签发，记录完整；写入区块链的存证正在确认中。",
        "genuine_pin_sub": "验证码正确，这是它的首次使用：验证完成。",
        "genuine_pin_yours_sub": "您已于 {at} 用验证码完成验证。",
        "genuine_pin_used_sub": "此码的验证码已于 {at} 被使用。若不是您本人使用的，请联系品牌方。",
        "pin_required": "待验证",
        "pin_required_sub": "此码由品牌方签发。请刮开标签上的涂层，输入验证码完成验证。",
        "possibly_copied": "疑似复制",
        "suspicious": "可疑",
        "recalled": "已召回",
        "recalled_sub": "这件商品所在的批次已被品牌方召回，请停止使用。",
        "recalled_item_sub": "这件商品已被品牌方召回，请停止使用。",
        "unknown": "未找到",
        "unknown_sub": "查无此码：品牌方没有签发过这个码。",
        "pin_verified_badge": "已验证",
        # Reasons for "suspicious", one sentence each.
        "reason_other_product": "标签上的商品条码与品牌方为此码登记的商品不符。",
        "reason_other_lot": "标签上的批号与品牌方为此码登记的批号不符。",
        "reason_leaf_mismatch": "此码的记录与区块链上的存证不一致，记录可能被篡改。",
        "reason_root_mismatch": "此码所在批次的记录与区块链上的存证不一致，记录可能被篡改。",
        "reason_payload_unreadable": "此码的加密防伪信息无法核对。",
        "reason_payload_mismatch": "此码的加密防伪信息与此码不符。",
        "reason_copy_confirmed": "品牌方已确认此码的标签被复制。",
        "do_not_buy": "请勿购买或使用，并联系品牌方。",
        # Warnings: why a code is "possibly copied".
        "many_scans": "此码已被查询 {count} 次，远多于一件正品通常的查询次数，标签可能被复制。",
        "far_apart": "此码{places}被查询，{span}内相距约 {km} 公里，不可能是同一件商品，"
        "标签可能被复制。",
        "far_apart_places": "先后在{before}和{here}",
        "far_apart_two_places": "先后在两地",
        "count_tampered": "此码的查询计数曾被改动：计数显示 {counter} 次，查询记录却有 {records} "
        "次。上面的次数以记录为准。可能有人想掩盖复制品。",
        "pin_reused": "此码的验证码已于 {at} 被使用过。正品的验证码只能使用一次，"
        "这个标签很可能是复制的。",
        "within_a_minute": "不到 1 分钟",
        "minutes": "约 {n} 分钟",
        "hours": "约 {n} 小时",
        "days": "约 {n} 天",
        "warnings_more": "其他提示",
        # Next steps.
        "next_steps": "接下来怎么做",
        "call": "致电品牌方客服",
        "website": "访问品牌官网",
        "report": "举报此商品",
        "report_hint": "把您看到的情况告诉品牌方，他们会核查。",
        "recall_what": "请停止使用，保留商品和购买凭证，联系品牌方办理退换。",
        "unknown_rescan": "请确认扫描的是商品标签上的二维码，在光线充足处对准后重新扫描。"
        "如果仍然查不到，这件商品可能是假冒的。",
        "unknown_read": "读到的码",
        "copied_what": "请与商家核对，保留购买凭证；如有疑问，请联系品牌方。",
        # Product and scans.
        "product": "产品信息",
        "name": "名称",
        "brand": "品牌",
        "gtin": "商品条码",
        "lot": "批号",
        "serial": "序列号",
        "production_date": "生产日期",
        "expiry": "有效期至",
        "factory": "生产工厂",
        "scans": "查询记录",
        "scan_count": "您是第 {count} 位查询者",
        "scan_count_stored": "此码已被查询 {count} 次",
        "first_scan": "首次查询：{at}",
        "first_region": "首次查询地区：{region}",
        "timeline": "溯源记录",
        "produced": "生产",
        "code_issued": "品牌方签发防伪码",
        "anchored": "记录写入区块链",
        "first_scan_event": "首次被查询",
        "shipped": "发货",
        "received": "收货",
        "sold": "售出",
        "returned": "退货",
        "recalled_event": "召回",
        "recall_reason": "召回原因：{reason}",
        "recall_at": "召回时间：{at}",
        # PINs.
        "pin": "刮开验证码",
        "pin_hint": "刮开标签上的涂层，输入下面的验证码。每个验证码只能使用一次。",
        "pin_submit": "验证",
        "pin_verified": "验证成功：这是该验证码的首次使用。",
        "pin_already_used": "此验证码已于 {at} 使用过。正品的验证码只能使用一次，"
        "这个标签很可能是复制的。",
        "pin_already_yours": "您已于 {at} 用此验证码完成验证。",
        "pin_wrong": "验证码错误，还可尝试 {left} 次。",
        "pin_wrong_backoff": "验证码错误。错误次数过多，暂停验证，请在{wait}后再试。",
        "pin_backoff_code": "此码的验证码近期被输错次数过多（可能是他人所为），为防止猜测，"
        "暂停验证，本次输入未被核对。请在{wait}后（北京时间 {at}）再试；"
        "真正的购买者届时仍可正常验证。",
        "pin_backoff_client": "您的网络近期输错验证码次数过多，暂停验证，本次输入未被核对。"
        "请在{wait}后（北京时间 {at}）再试。",
        "pin_no_pin": "此产品没有刮开验证码。",
        "pin_unknown_code": "查无此码。",
        # The proof.
        "proof": "区块链存证",
        "proof_sentence": "这件商品的记录已于 {at} 写入区块链，任何人都可以核对，无需相信本网站。",
        "proof_sentence_undated": "这件商品的记录已写入区块链，任何人都可以核对，无需相信本网站。",
        "proof_pending": "这件商品的记录正在写入区块链，确认后任何人都可以核对。",
        "proof_details": "技术细节",
        "proof_json": "下载证明文件 (JSON)",
        "proof_howto": "如何自己核对",
        "explorer": "在区块浏览器中查看",
        "status": "状态",
        "chain": "链",
        "contract": "合约地址",
        "block": "区块",
        "tx": "交易",
        "confirmations": "确认数",
        "root": "批次根哈希",
        "index": "在批次中的序号",
        "leaf": "此码的哈希",
        "dev_chain": "（开发测试链，不是公开网络）",
        # The page's frame.
        "operator": "本验证服务由 {operator} 提供",
        "time_note": "时间为北京时间",
        "switch": "English",
        "switch_lang": "en",
        "links": "更多信息",
        "brand_contact": "品牌方联系方式",
    },
    "en": {
        "title": "Product check",
        "genuine": "Genuine",
        "genuine_sub": "This code was issued by the brand; its record is intact and matches its "
        "record on a blockchain.",
        "genuine_pending_sub": "This code was issued by the brand; its record is intact, and its "
        "record on a blockchain is still being confirmed.",
        "genuine_pin_sub": "The PIN is right and this is its first use: the check is complete.",
        "genuine_pin_yours_sub": "You completed the check with the PIN on {at}.",
        "genuine_pin_used_sub": "This code's PIN was used on {at}. If that was not you, contact "
        "the brand.",
        "pin_required": "Not yet verified",
        "pin_required_sub": "This code was issued by the brand. Scratch the label and enter the "
        "PIN to complete the check.",
        "possibly_copied": "Possibly copied",
        "suspicious": "Suspicious",
        "recalled": "Recalled",
        "recalled_sub": "The brand has recalled this product's batch. Stop using it.",
        "recalled_item_sub": "The brand has recalled this item. Stop using it.",
        "unknown": "Not found",
        "unknown_sub": "No such code: the brand never issued it.",
        "pin_verified_badge": "verified",
        "reason_other_product": "The product number on the label is not the product the brand "
        "registered for this code.",
        "reason_other_lot": "The lot on the label does not match the lot the brand registered "
        "for this code.",
        "reason_leaf_mismatch": "This code's record does not match its record on the blockchain: "
        "it may have been tampered with.",
        "reason_root_mismatch": "The record of this code's batch does not match the blockchain: "
        "it may have been tampered with.",
        "reason_payload_unreadable": "This code's encrypted security data cannot be checked.",
        "reason_payload_mismatch": "This code's encrypted security data belongs to another code.",
        "reason_copy_confirmed": "The brand has confirmed that this code's label was copied.",
        "do_not_buy": "Do not buy or use it, and contact the brand.",
        "many_scans": "This code has been checked {count} times, far more than a genuine item "
        "usually is: the label may have been copied.",
        "far_apart": "This code was checked {places} {km} km apart within {span}: that cannot "
        "be one item, so the label may have been copied.",
        "far_apart_places": "in {before} and then in {here},",
        "far_apart_two_places": "in two places",
        "count_tampered": "This code's scan count was altered: the counter said {counter}, the "
        "scan records hold {records}. The count shown follows the records. Someone may have "
        "tried to hide copies.",
        "pin_reused": "This code's PIN was already used on {at}. A genuine PIN works once, so "
        "this label is most likely a copy.",
        "within_a_minute": "less than a minute",
        "minutes": "about {n} minutes",
        "hours": "about {n} hours",
        "days": "about {n} days",
        "warnings_more": "Also",
        "next_steps": "What to do",
        "call": "Call the brand",
        "website": "Brand website",
        "report": "Report this item",
        "report_hint": "Tell the brand what you saw; they will look into it.",
        "recall_what": "Stop using it, keep the item and your receipt, and contact the brand "
        "for a refund or exchange.",
        "unknown_rescan": "Make sure you scanned the QR code on the product's label, and scan "
        "again in good light. If it is still not found, the item may be counterfeit.",
        "unknown_read": "The code read",
        "copied_what": "Check with the seller and keep your receipt; contact the brand if in "
        "doubt.",
        "product": "Product",
        "name": "Name",
        "brand": "Brand",
        "gtin": "Product number (GTIN)",
        "lot": "Lot",
        "serial": "Serial",
        "production_date": "Produced",
        "expiry": "Use by",
        "factory": "Factory",
        "scans": "Checks",
        "scan_count": "This is check number {count} of this code",
        "scan_count_stored": "Checks of this code so far: {count}",
        "first_scan": "First checked: {at}",
        "first_region": "First checked in: {region}",
        "timeline": "Where it has been",
        "produced": "Produced",
        "code_issued": "Security code issued by the brand",
        "anchored": "Record written to a blockchain",
        "first_scan_event": "First checked",
        "shipped": "Shipped",
        "received": "Received",
        "sold": "Sold",
        "returned": "Returned",
        "recalled_event": "Recalled",
        "recall_reason": "Reason: {reason}",
        "recall_at": "Recalled on: {at}",
        "pin": "Scratch-off PIN",
        "pin_hint": "Scratch the label and enter the PIN below. Each PIN works once.",
        "pin_submit": "Verify",
        "pin_verified": "Verified: this is the first use of this PIN.",
        "pin_already_used": "This PIN was already used on {at}. A genuine PIN works once, so "
        "this label is most likely a copy.",
        "pin_already_yours": "You verified this PIN on {at}.",
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
        "proof": "Blockchain record",
        "proof_sentence": "This item's record was written to a blockchain on {at}. Anyone can "
        "check it, without trusting this website.",
        "proof_sentence_undated": "This item's record was written to a blockchain. Anyone can "
        "check it, without trusting this website.",
        "proof_pending": "This item's record is being written to a blockchain; once confirmed, "
        "anyone can check it.",
        "proof_details": "Technical details",
        "proof_json": "Download the proof (JSON)",
        "proof_howto": "How to check it yourself",
        "explorer": "View in a block explorer",
        "status": "Status",
        "chain": "Chain",
        "contract": "Contract",
        "block": "Block",
        "tx": "Transaction",
        "confirmations": "Confirmations",
        "root": "Batch root hash",
        "index": "Position in batch",
        "leaf": "This code's hash",
        "dev_chain": " (development chain, not a public network)",
        "operator": "This check is run by {operator}",
        "time_note": "Times are China time (UTC+8)",
        "switch": "中文",
        "switch_lang": "zh",
        "links": "More",
        "brand_contact": "Contact the brand",
    },
}
LINK_TITLES = {
    "gs1:pip": ("产品信息页", "Product information"),
    "gs1:recallStatus": ("召回信息", "Recall status"),
    "gs1:instructions": ("使用说明", "Instructions"),
    "gs1:certificationInfo": ("认证信息", "Certification"),
    "gs1:support": ("客户服务", "Support"),
}
_UNITS = (
    "kg|mg|g|ml|mL|cl|L|l|cm|mm|m|oz|lb|W|V|mAh|%|克|千克|公斤|毫克|毫升|升|厘米|毫米|米|片|粒|袋|瓶|"
    "支|盒|包|罐|只|个|件|抽|张"
)
_NUMBER_UNIT = re.compile(rf"(\d)\s+(?=(?:{_UNITS})(?![A-Za-z]))")


def keep_units(text: str) -> str:
    """``250 g`` with a no-break space, so a line never breaks between number and unit."""
    return _NUMBER_UNIT.sub("\\1\u00a0", text)


def place(code: str | None, lang: str) -> str | None:
    """A GB/T 2260 code as people name it: 浙江省杭州市西湖区, or Zhejiang (浙江省杭州市西湖区)."""
    if not code:
        return None
    try:
        name = divisions.display_name(code).replace(" ", "")
    except divisions.InvalidDivision:
        province = PROVINCES.get(code[:2])
        if province is None:
            return None
        name = province[0]
    if lang == "zh":
        return name
    province = PROVINCES.get(code[:2])
    return f"{province[1]} ({name})" if province else name


def span_text(minutes: int, text: dict[str, str]) -> str:
    """A time span as people say it: less than a minute, about 40 minutes, about 3 hours."""
    if minutes < 1:
        return text["within_a_minute"]
    if minutes < 120:
        return text["minutes"].format(n=minutes)
    if minutes < 48 * 60:
        return text["hours"].format(n=round(minutes / 60))
    return text["days"].format(n=round(minutes / 1440))


def warning_sentence(
    warning: dict[str, Any], text: dict[str, str], lang: str, local: Any
) -> str | None:
    """One warning in plain words (None for a kind this page does not know)."""
    code = warning.get("code")
    if code == "far_apart":
        before = place(warning.get("previous_region"), lang)
        here = place(warning.get("region"), lang)
        places = (
            text["far_apart_places"].format(before=before, here=here)
            if before and here and before != here
            else text["far_apart_two_places"]
        )
        span = span_text(int(warning.get("minutes", 0)), text)
        return text["far_apart"].format(places=places, span=span, km=warning.get("km"))
    if code == "pin_reused":
        return text["pin_reused"].format(at=local(warning.get("used_at")))
    if code in ("many_scans", "count_tampered"):
        return text[code].format(**warning)
    return None


def reason_sentence(reason: str, text: dict[str, str]) -> str:
    """A suspicious verdict's reason in plain words."""
    return text.get(f"reason_{reason}", text["reason_leaf_mismatch"])
