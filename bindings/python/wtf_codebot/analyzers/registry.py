"""``wtf_codebot.analyzers.registry`` backed by wtfperf: the analyzer
registry of the performance guide (``AnalyzerRegistry().get_analyzer(name)``).

wtfperf ships no analyzers of its own (wtf_codebot's Python and JavaScript
analyzers are not part of the performance package): register yours with
the module's :func:`register_analyzer` and every registry created afterwards
starts with them, so the guide's ``registry.get_analyzer('python')`` finds
them; a name nobody registered gives ``None`` (which ``ParallelAnalyzer``
leaves out).
"""

import logging
from typing import Any, Dict, List, Optional

__all__ = ["AnalyzerRegistry", "analyze_file", "get_registry", "register_analyzer"]

logger = logging.getLogger("wtf_codebot.analyzers.registry")


class AnalyzerRegistry:
    """Analyzers by language name; starts with those registered globally."""

    def __init__(self) -> None:
        self._analyzers: Dict[str, Any] = dict(_global._analyzers) if _global is not None else {}

    def register_analyzer(self, language: str, analyzer: Any) -> None:
        self._analyzers[language] = analyzer
        logger.debug("registered analyzer for %s: %r", language, analyzer)

    def get_analyzer(self, language: str) -> Optional[Any]:
        return self._analyzers.get(language)

    def get_analyzer_for_file(self, file_node: Any) -> Optional[Any]:
        """The first analyzer whose ``supports_file(file_node)`` is true, else
        the one registered under the file's language."""
        for analyzer in self._analyzers.values():
            supports = getattr(analyzer, "supports_file", None)
            if supports is not None and supports(file_node):
                return analyzer
        return self._analyzers.get(getattr(file_node, "language", None) or "")

    def get_supported_languages(self) -> List[str]:
        return list(self._analyzers)

    def analyze_file(self, file_node: Any) -> Any:
        """Run the file's analyzer (``None`` when there is none or it fails)."""
        analyzer = self.get_analyzer_for_file(file_node)
        if analyzer is None:
            return None
        call = getattr(analyzer, "analyze_file", None) or getattr(analyzer, "analyze", None) or analyzer
        try:
            return call(file_node)
        except Exception as exc:  # noqa: BLE001 - wtf_codebot logged and went on
            logger.error("error analyzing %s: %s", getattr(file_node, "path", file_node), exc)
            return None


_global: Optional[AnalyzerRegistry] = None
_global = AnalyzerRegistry()


def get_registry() -> AnalyzerRegistry:
    """The global registry."""
    return _global


def register_analyzer(language: str, analyzer: Any) -> None:
    """Register ``analyzer`` globally: registries created from now on have it."""
    _global.register_analyzer(language, analyzer)


def analyze_file(file_node: Any) -> Any:
    return _global.analyze_file(file_node)
