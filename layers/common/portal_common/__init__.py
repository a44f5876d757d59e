"""Shared code of the member-portal functions (deployed as the common Lambda layer).

Modules are imported one by one (``from portal_common.problems import DomainError``): this package
deliberately imports nothing at package level so that each function pays only for what it uses.
"""

from portal_common.cold_start import pause as _pause_collector
from portal_common.lazy_packages import defer_all as _defer_all

# In a Lambda function, no garbage collection until its first invocation ends (cold_start: the
# handlers' @settles decorator resumes it).
_pause_collector()

# Library packages whose __init__ imports far more than a function uses (the REST resolver's
# package imports the AppSync and Bedrock resolvers): their names resolve on first use instead.
_defer_all()
