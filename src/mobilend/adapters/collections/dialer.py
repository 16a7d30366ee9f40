"""A stand-in dialer for a deployment without a call-centre system (CTI): it "places" the
call the conduct gate cleared and reports an outcome, deterministic per call id, with a
recording reference — so the gate, the contact log and the call cap work end to end. A
real CTI adapter implements the same ``Dialer`` port."""

from __future__ import annotations

import hashlib

from mobilend.app.collections.channels import CallRequest, CallResult


class SandboxDialer:
    def __init__(self, connect_percent: int = 60) -> None:
        self.connect_percent = connect_percent
        self.placed: list[CallRequest] = []

    def place_call(self, request: CallRequest) -> CallResult:
        self.placed.append(request)
        roll = int(hashlib.sha256(request.call_id.encode()).hexdigest()[:8], 16) % 100
        if roll < self.connect_percent:
            return CallResult("connected", f"rec-{request.call_id}", 60 + roll)
        return CallResult("no_answer" if roll % 2 else "busy")
