"""``wtf_codebot.performance.parallel`` backed by wtfperf."""

from wtfperf import parallel as _impl
from wtfperf.parallel import *  # noqa: F401,F403 (the old module's names)

__all__ = list(_impl.__all__)
