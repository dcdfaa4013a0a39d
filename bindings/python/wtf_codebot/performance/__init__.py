"""``wtf_codebot.performance`` backed by wtfperf (filled in as the parts land)."""
