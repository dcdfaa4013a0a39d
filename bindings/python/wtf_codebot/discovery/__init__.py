"""``wtf_codebot.discovery``: only the scanner the performance guide uses
(``CodebaseScanner``), on wtfperf's parallel scan."""
