"""The demo heating company 滨河市恒暖热力有限公司: fictional, written for Warmline."""
