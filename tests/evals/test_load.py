"""The season-start load generator's own setup: it must never fail for reasons of its own making."""

from __future__ import annotations

import base64

from wechatpy.crypto import WeChatCrypto

from evals.load.run import new_aes_key


def test_every_generated_aes_key_is_one_the_wechat_crypto_accepts() -> None:
    # URL-safe keys ("-", "_") broke the crypto's base64 decode in most runs ("Incorrect padding").
    for _ in range(500):
        key = new_aes_key()
        assert len(key) == 43 and key.isalnum()
        assert len(base64.b64decode(key + "=")) == 32
        WeChatCrypto("token", key, "wx0000000000000000")
