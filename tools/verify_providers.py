"""``python -m tools.verify_providers``: the insurer's side of member-added providers.

A provider that a member adds is usable at once by that member only (their claims, their recent
providers) and is in no search until the insurer verifies it (see ``docs/claims.md``, Providers).

    python -m tools.verify_providers list [--limit N]      # awaiting verification, oldest first
    python -m tools.verify_providers verify PROVIDER_ID    # put it in the shared directory

Against the running local stack by default (endpoints and table names from
``.local-stack/stack.json``); against AWS with ``--aws`` (the caller's credentials, and
``PROVIDERS_TABLE`` / ``CLAIMS_TABLE`` ... in the environment as the functions have them). Listing is
one ``Query`` of the pending index per page, never a ``Scan``. No member's name or key is printed:
the provider's own data only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local.run import use_running_stack

ROOT = Path(__file__).resolve().parent.parent


def _ensure_path() -> None:
    folder = str(ROOT / "functions" / "providers")
    if folder not in sys.path:
        sys.path.insert(0, folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aws", action="store_true", help="use the real AWS account of the environment")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="member-added providers awaiting verification, oldest first")
    listing.add_argument("--limit", type=int, default=50, help="how many (1..500, default 50)")
    verifying = commands.add_parser("verify", help="verify one provider: it joins the shared directory")
    verifying.add_argument("provider_id")
    args = parser.parse_args(argv)
    if not args.aws and not use_running_stack():
        return 2
    _ensure_path()
    from provider_directory import VerificationRefused, pending_providers, verify_provider

    from portal_common import clock

    if args.command == "list":
        limit = min(max(args.limit, 1), 500)
        providers, _ = pending_providers(limit)
        for p in providers:
            address = p.address
            print(
                f"{p.provider_id}  {p.provider_type:<28} {p.display_name}  {p.phone}  "
                f"{address.get('city', '')} {address.get('province', '')} {address.get('postalCode', '')}  "
                f"reg={p.registration_number or '-'}  added={p.created_at or '-'}"
            )
        print(f"{len(providers)} provider(s) awaiting verification")
        return 0
    try:
        verified = verify_provider(args.provider_id, clock.now_iso("seconds"))
    except VerificationRefused as refused:
        print(f"not verified: {refused}", file=sys.stderr)
        return 1
    print(f"verified {verified.provider_id} ({verified.display_name}): now in the shared directory")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
