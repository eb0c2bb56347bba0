"""What the report form and the "check it yourself" page say, in Chinese and English."""

from __future__ import annotations

REPORT: dict[str, dict[str, str]] = {
    "zh": {
        "heading": "举报此商品",
        "intro": "把您看到的情况告诉品牌方。品牌方会核查，必要时联系您。",
        "item": "商品",
        "reason": "您遇到了什么情况？",
        "reason_counterfeit": "我认为这是假货",
        "reason_label_damaged": "标签破损、被撕过或被重新贴过",
        "reason_unexpected_place": "在不该出现的地方买到（例如非授权店铺、跨区域销售）",
        "reason_recalled_on_sale": "已召回的商品仍在销售",
        "reason_other": "其他",
        "message": "具体情况（选填，最多 1000 字）",
        "where_bought": "在哪里买的（选填：店铺名称或网址）",
        "contact": "联系方式（选填：只有您希望品牌方回电时才填写）",
        "privacy": "您的联系方式只提供给品牌方用于回复本次举报，不会公开显示。"
        "我们不保存您的 IP 地址，只保存其不可逆的摘要用于防止滥用。",
        "submit": "提交",
        "sent": "已提交，谢谢您！品牌方会核查。",
        "reference": "举报编号：{reference}",
        "back": "返回验证页",
        "error_reason": "请选择您遇到的情况。",
        "error_text": "输入的内容过长或含有不可见字符，请修改后再提交。",
        "error_busy": "您提交得太频繁了，请稍后再试。",
        "switch": "English",
        "switch_lang": "en",
    },
    "en": {
        "heading": "Report this item",
        "intro": "Tell the brand what you saw. They will look into it and, if needed, contact you.",
        "item": "Item",
        "reason": "What happened?",
        "reason_counterfeit": "I think it is counterfeit",
        "reason_label_damaged": "The label is damaged, torn or was stuck on again",
        "reason_unexpected_place": "Bought where it should not be sold (e.g. an unauthorised "
        "shop or another region)",
        "reason_recalled_on_sale": "A recalled item is still on sale",
        "reason_other": "Something else",
        "message": "What you saw (optional, up to 1000 characters)",
        "where_bought": "Where you bought it (optional: shop name or web address)",
        "contact": "How to reach you (optional: only if you want the brand to call back)",
        "privacy": "Your contact is given to the brand only to answer this report and is "
        "never shown publicly. We do not keep your IP address, only a one-way digest of it "
        "against abuse.",
        "submit": "Send",
        "sent": "Sent, thank you! The brand will look into it.",
        "reference": "Report reference: {reference}",
        "back": "Back to the check",
        "error_reason": "Please choose what happened.",
        "error_text": "Some text is too long or holds invisible characters; please change it "
        "and send again.",
        "error_busy": "You have sent too many reports; please try again later.",
        "switch": "中文",
        "switch_lang": "zh",
    },
}

HOWTO: dict[str, dict[str, str]] = {
    "zh": {
        "heading": "如何自己核对区块链存证",
        "intro": "扫码页说“任何人都可以核对”，意思是：您不需要相信本网站。下面三步只用公开的算法和"
        "任何人都能读取的区块链数据，就能确认这件商品的记录是品牌方当初写入区块链的那一份。",
        "need_title": "需要什么",
        "need": "扫码页上“下载证明文件”得到的 JSON 文件（proof.json），一台装有 Python 3 的电脑，"
        "以及读取区块链的途径：证明文件 anchor 中 chain_id 所指的链的任意 JSON-RPC 节点，"
        "或该链的区块浏览器。",
        "step1_title": "第一步：这个码属于这个批次",
        "step1": "证明文件中的 leaf 是此码的哈希，path 是从它到批次根哈希 root 的路径。"
        "按 RFC 9162 的 Merkle 包含证明算法、以国密 SM3 为哈希函数计算，结果应等于 root。"
        "下面的脚本就是这个算法，打印 OK 即通过：",
        "step1_tool": "也可以用本项目的开源命令行：trace codes verify-proof proof.json。",
        "step2_title": "第二步：批次根哈希确实写在链上",
        "step2": "在 anchor.chain_id 所指的链上，调用合约 anchor.contract 的只读函数 getAnchor，"
        "参数为 anchor.anchor_id：",
        "step2_compare": "返回的 root 应等于证明文件中的 root（加 0x 前缀），size 应等于 "
        "tree_size；blockNumber 和 timestamp 是写入的区块和时间。"
        "交易 anchor.tx 可在区块浏览器中查看。",
        "step3_title": "第三步（可选）：哈希确实是这个码的",
        "step3": "扫码页的 JSON 回答（请求时带 Accept: application/json）里有 leaf_input，"
        "它包含此码的序列号和密封的防伪信息。计算 SM3(0x00 ‖ leaf_input) 应等于 leaf。",
        "switch": "English",
        "switch_lang": "en",
    },
    "en": {
        "heading": "How to check the blockchain record yourself",
        "intro": "The scan page says anyone can check it: you do not need to trust this "
        "website. With public algorithms and data anyone can read from the blockchain, these "
        "three steps show that this item's record is the one the brand wrote to the "
        "blockchain when it issued the code.",
        "need_title": "What you need",
        "need": "The JSON file from “Download the proof” on the scan page (proof.json), a "
        "computer with Python 3, and a way to read the blockchain: any JSON-RPC node of the "
        "chain that anchor.chain_id names, or a block explorer of that chain.",
        "step1_title": "Step 1: the code belongs to its batch",
        "step1": "In the proof, leaf is this code's hash and path leads from it to the batch's "
        "root hash, root. Computing RFC 9162's Merkle inclusion proof with the SM3 hash must "
        "give root. This script is that algorithm; it prints OK when the proof holds:",
        "step1_tool": "The project's open-source command line does the same: "
        "trace codes verify-proof proof.json.",
        "step2_title": "Step 2: the batch's root is on the chain",
        "step2": "On the chain anchor.chain_id names, call the read-only function getAnchor of "
        "the contract at anchor.contract with anchor.anchor_id:",
        "step2_compare": "The root it returns must equal the proof's root (with a 0x prefix) "
        "and size its tree_size; blockNumber and timestamp say when it was written. The "
        "transaction anchor.tx can be looked up in a block explorer.",
        "step3_title": "Step 3 (optional): the hash is this code's",
        "step3": "The scan page's JSON answer (ask with Accept: application/json) carries "
        "leaf_input, which holds the code's serial and its sealed security data. "
        "SM3(0x00 ‖ leaf_input) must equal leaf.",
        "switch": "中文",
        "switch_lang": "zh",
    },
}
