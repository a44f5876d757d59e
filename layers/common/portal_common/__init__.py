"""Shared code of the member-portal functions (deployed as the common Lambda layer).

Modules are imported one by one (``from portal_common.problems import DomainError``): this package
deliberately imports nothing at package level so that each function pays only for what it uses.
"""
