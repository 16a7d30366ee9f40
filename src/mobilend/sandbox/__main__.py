"""Run the sandbox services as real HTTP servers.

One service per process::

    python -m mobilend.sandbox payment   --port 8101 --callback-url URL --secret S [--seed N]
    python -m mobilend.sandbox messaging --port 8102 --callback-url URL --secret S
    python -m mobilend.sandbox partner   --port 8103 --callback-url URL --secret S --partner-code PB01

or all three in one process under path prefixes ``/payment``, ``/messaging``, ``/partner``::

    python -m mobilend.sandbox all --port 8100 \\
        --payment-secret S1 --messaging-secret S2 --partner-secret S3 \\
        --payment-callback-url URL --messaging-callback-url URL --partner-callback-url URL

Each service signs its callbacks with its own secret, as each real counterparty does
(the service is configured with ``MOBILEND_RAIL_SECRET``, ``MOBILEND_SMS_GATEWAY_SECRET``
and ``MOBILEND_PARTNER_SECRETS``); ``--secret`` (or ``MOBILEND_SANDBOX_SECRET``) is the
one for a single service, and for any of the three not given its own. Each service has
``/admin`` endpoints for faults, configuration, stats and reset (see each module's
docstring).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence

import uvicorn
from fastapi import FastAPI

from mobilend.sandbox import messaging_gateway, partner_bank, payment_gateway


def build_app(args: argparse.Namespace) -> FastAPI:
    business_date = dt.date.fromisoformat(args.business_date) if args.business_date else None
    if args.service == "payment":
        return payment_gateway.create_app(
            args.payment_secret or args.secret,
            args.callback_url,
            args.seed,
            args.settle_delay_ms,
            business_date,
        )
    if args.service == "messaging":
        return messaging_gateway.create_app(
            args.messaging_secret or args.secret,
            args.callback_url,
            args.seed,
            args.receipt_delay_ms,
        )
    if args.service == "partner":
        return partner_bank.create_app(
            args.partner_secret or args.secret,
            args.callback_url,
            args.seed,
            args.decision_delay_ms,
            args.partner_code,
        )
    root = FastAPI(title="mobilend sandboxes")
    root.mount(
        "/payment",
        payment_gateway.create_app(
            args.payment_secret or args.secret,
            args.payment_callback_url,
            args.seed,
            args.settle_delay_ms,
            business_date,
        ),
    )
    root.mount(
        "/messaging",
        messaging_gateway.create_app(
            args.messaging_secret or args.secret,
            args.messaging_callback_url,
            args.seed,
            args.receipt_delay_ms,
        ),
    )
    root.mount(
        "/partner",
        partner_bank.create_app(
            args.partner_secret or args.secret,
            args.partner_callback_url,
            args.seed,
            args.decision_delay_ms,
            args.partner_code,
        ),
    )
    return root


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mobilend.sandbox",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("service", choices=["payment", "messaging", "partner", "all"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--secret", default=os.environ.get("MOBILEND_SANDBOX_SECRET", ""))
    for service in ("payment", "messaging", "partner"):
        parser.add_argument(
            f"--{service}-secret", default="", help=f"the {service} service's own secret"
        )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--callback-url", default="")
    parser.add_argument("--payment-callback-url", default="")
    parser.add_argument("--messaging-callback-url", default="")
    parser.add_argument("--partner-callback-url", default="")
    parser.add_argument("--settle-delay-ms", type=int, default=50)
    parser.add_argument("--business-date", default="", help="YYYY-MM-DD; default: today in China")
    parser.add_argument("--receipt-delay-ms", type=int, default=50)
    parser.add_argument("--decision-delay-ms", type=int, default=100)
    parser.add_argument("--partner-code", default="PB01")
    args = parser.parse_args(argv)
    own = {"payment": args.payment_secret, "messaging": args.messaging_secret,
           "partner": args.partner_secret}  # fmt: skip
    needed = own.values() if args.service == "all" else [own[args.service]]
    if not args.secret and not all(needed):
        parser.error("--secret (or MOBILEND_SANDBOX_SECRET) is required to sign callbacks")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    uvicorn.run(build_app(args), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
