"""``wtf_codebot.analyzers``: only the registry the performance guide uses."""
