"""Compatibility shim: only ``wtf_codebot.performance`` is provided, backed by wtfperf."""
