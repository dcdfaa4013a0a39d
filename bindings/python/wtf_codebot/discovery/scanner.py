"""``wtf_codebot.discovery.scanner.CodebaseScanner`` backed by wtfperf.

``CodebaseScanner().scan_directory(path)`` gives the same :class:`Codebase`
as ``ParallelScanner().scan_directory_parallel(path)`` (this is that, with
the scanner's options given once to the constructor).
"""

from typing import Any, Optional, Set

from wtfperf.parallel import Codebase, ParallelScanner

__all__ = ["CodebaseScanner"]


class CodebaseScanner:
    """``CodebaseScanner(include_content=True, parse_ast=True, ignore_dirs=None,
    ignore_files=None, max_file_size=10 MiB, num_processes=None)``."""

    def __init__(
        self,
        include_content: bool = True,
        parse_ast: bool = True,
        ignore_dirs: Optional[Set[str]] = None,
        ignore_files: Optional[Set[str]] = None,
        max_file_size: int = 10 * 1024 * 1024,
        num_processes: Optional[int] = None,
        **kwargs: Any,
    ):
        self.include_content = include_content
        self.parse_ast = parse_ast
        self.ignore_dirs = ignore_dirs
        self.ignore_files = ignore_files
        self.max_file_size = max_file_size
        self.scanner = ParallelScanner(num_processes, **kwargs)

    def scan_directory(self, root_path: Any) -> Codebase:
        """Scan ``root_path`` (a directory) into a :class:`Codebase`."""
        return self.scanner.scan_directory_parallel(
            root_path,  # str, bytes or a path: scan_directory_parallel takes them all
            include_content=self.include_content,
            parse_ast=self.parse_ast,
            ignore_dirs=self.ignore_dirs,
            ignore_files=self.ignore_files,
            max_file_size=self.max_file_size,
        )
